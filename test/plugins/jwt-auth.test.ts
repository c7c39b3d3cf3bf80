import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { App } from 'apflow';
import {
  listenLocal,
  rpc,
  runApflow,
  spawnApflow,
  tempProject,
  testApp,
  waitListening,
  writeFiles,
} from '../helpers.ts';

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
const key = (secret: string) => new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

/** A token built by hand, so every claim (and the header) is the test's to choose. */
async function sign(claims: Record<string, unknown>, options: { secret?: string; alg?: string } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' }).sign(key(options.secret ?? SECRET));
}
const unsigned = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

async function authedApp(
  t: TestContext,
  auth: Record<string, unknown> = { jwt_secret: SECRET },
  extra: Record<string, unknown> = {},
) {
  const app = await testApp(t, { auth, ...extra });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** What `POST /tasks tasks.count` answers with `token` (status, body, WWW-Authenticate). */
async function count(url: string, token?: string) {
  const answer = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );
  return {
    status: answer.status,
    body: answer.body as { result?: { user_id?: string }; error?: { code: number; message: string } },
    challenge: answer.headers.get('www-authenticate'),
  };
}

test('a valid HS256 token names the user; every kind of bad token is refused with 401, -32001 and WWW-Authenticate', async (t) => {
  const { url } = await authedApp(t);
  const good = await count(url, await sign({ sub: 'ann', exp: now() + 60 }));
  assert.equal(good.status, 200);
  assert.equal(good.body.result?.user_id, 'ann');

  const valid = await sign({ sub: 'ann', exp: now() + 60 });
  const [header, payload, signature] = valid.split('.') as [string, string, string];
  const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'root', roles: ['admin'], exp: now() + 60 })).toString('base64url')}.${signature}`;
  const cases: [string, string | undefined, RegExp][] = [
    ['no token', undefined, /Authentication required/],
    ['not a JWT', 'abc.def', /not a valid JWT/],
    ['alg none', unsigned({ sub: 'ann', exp: now() + 60 }), /algorithm|not a valid JWT/],
    ['tampered payload', tampered, /signature is not valid/],
    ['expired', await sign({ sub: 'ann', exp: now() - 120 }), /expired/],
    [
      'wrong key',
      await sign({ sub: 'ann', exp: now() + 60 }, { secret: 'another-secret-of-sufficient-length!!' }),
      /signature is not valid/,
    ],
    ['not yet valid (nbf)', await sign({ sub: 'ann', exp: now() + 600, nbf: now() + 300 }), /nbf/],
    ['no exp', await sign({ sub: 'ann' }), /exp/],
    ['no sub', await sign({ exp: now() + 60 }), /no sub/],
    ['HS512 when HS256 is configured', await sign({ sub: 'ann', exp: now() + 60 }, { alg: 'HS512' }), /algorithm/],
  ];
  for (const [kind, token, reason] of cases) {
    const answer = await count(url, token);
    assert.equal(answer.status, 401, kind);
    assert.equal(answer.challenge, 'Bearer', kind);
    assert.equal(answer.body.error?.code, -32001, kind);
    assert.match(answer.body.error?.message ?? '', reason, kind);
    assert.ok(token === undefined || !answer.body.error?.message.includes(token), `${kind}: the token is not echoed`);
  }
  // The payload's header is never trusted: the tampered token's own signature part was kept.
  assert.ok(payload.length > 0);
  const expired = await sign({ sub: 'ann', exp: now() - 120 });
  assert.equal(
    (await fetch(`${url}/health`, { headers: { authorization: `Bearer ${expired}` } })).status,
    200,
    'a public route ignores a bad token',
  );
});

test('roles: a roles list or a role string holding admin makes an administrator; cookies carry tokens too', async (t) => {
  const { app, url } = await authedApp(t);
  await app.engine.createTree([{ name: 'theirs', user_id: 'zed', schemas: { method: 'noop' } }]);
  const listed = async (headers: Record<string, string>) =>
    ((await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.list' }, headers)).body as { result: unknown[] })
      .result.length;
  assert.equal(await listed({ authorization: `Bearer ${await sign({ sub: 'ann', exp: now() + 60 })}` }), 0);
  assert.equal(
    await listed({ authorization: `Bearer ${await sign({ sub: 'ann', roles: ['admin'], exp: now() + 60 })}` }),
    1,
  );
  assert.equal(
    await listed({ authorization: `Bearer ${await sign({ sub: 'ann', role: 'admin', exp: now() + 60 })}` }),
    1,
  );
  // A cookie-authenticated call must come from a page of the server (test/security/cookie-csrf.test.ts).
  assert.equal(
    await listed({
      cookie: `theme=dark; auth_token=${await sign({ sub: 'ann', role: 'admin', exp: now() + 60 })}`,
      origin: url,
    }),
    1,
  );
  assert.equal(
    await listed({
      cookie: `authorization=Bearer%20${await sign({ sub: 'ann', role: 'admin', exp: now() + 60 })}`,
      origin: url,
    }),
    1,
  );
});

test('issuer and audience are checked when configured', async (t) => {
  const { url } = await authedApp(t, { jwt_secret: SECRET, issuer: 'https://id.example', audience: 'apflow' });
  const claims = { sub: 'ann', exp: now() + 60 };
  assert.equal((await count(url, await sign({ ...claims, iss: 'https://id.example', aud: 'apflow' }))).status, 200);
  assert.match(
    (await count(url, await sign({ ...claims, iss: 'https://evil.example', aud: 'apflow' }))).body.error?.message ?? '',
    /iss/,
  );
  assert.match(
    (await count(url, await sign({ ...claims, iss: 'https://id.example', aud: 'other' }))).body.error?.message ?? '',
    /aud/,
  );
  assert.equal((await count(url, await sign(claims))).status, 401, 'a token without them is refused');
});

test('auth.jwks_url: RS256 and ES256 tokens from an identity provider; a key it does not publish is refused', async (t) => {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('RS256');
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
  ];
  const port = await listenLocal(
    t,
    createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys }))),
  );
  const { url } = await authedApp(t, { enabled: true, jwks_url: `http://127.0.0.1:${port}/jwks.json` });
  const issue = (privateKey: CryptoKey, alg: string, kid: string) =>
    new SignJWT({ sub: 'idp-user', exp: now() + 60 }).setProtectedHeader({ alg, kid }).sign(privateKey);
  assert.equal((await count(url, await issue(rsa.privateKey, 'RS256', 'rsa'))).body.result?.user_id, 'idp-user');
  assert.equal((await count(url, await issue(ec.privateKey, 'ES256', 'ec'))).body.result?.user_id, 'idp-user');
  assert.equal((await count(url, await issue(stranger.privateKey, 'RS256', 'rsa'))).status, 401);
  assert.equal(
    (await count(url, await sign({ sub: 'x', exp: now() + 60 }))).status,
    401,
    'no shared secret is configured, so HS256 is refused',
  );
});

test('POST /auth/login: a stored user gets a working token; a wrong password and an unknown user get the same answer; attempts are limited (429)', async (t) => {
  const { app, url } = await authedApp(
    t,
    { jwt_secret: SECRET, token_expires_s: 600 },
    { jwt_auth: { login_max_attempts: 4, login_window_s: 60 } },
  );
  await (app as App).service('jwt-auth')?.users.add('ann', 'correct horse', ['admin']);
  const login = async (body: unknown) => {
    const response = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      retryAfter: response.headers.get('retry-after'),
    };
  };
  const ok = await login({ username: 'ann', password: 'correct horse' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.token_type, 'bearer');
  assert.equal(ok.body.expires_in, 600);
  const worked = await count(url, String(ok.body.access_token));
  assert.equal(worked.status, 200);
  assert.equal(worked.body.result?.user_id, undefined, 'ann is an administrator: her count covers everyone');
  const wrongPassword = await login({ username: 'ann', password: 'wrong horse' });
  const unknownUser = await login({ username: 'nobody', password: 'wrong horse' });
  assert.equal(wrongPassword.status, 401);
  assert.deepEqual(unknownUser, wrongPassword, 'the same answer, so usernames cannot be probed');
  assert.equal((await login({ username: 'ann' })).status, 400);
  for (let i = 0; i < 3; i += 1) assert.equal((await login({ username: 'ann', password: 'wrong horse' })).status, 401);
  const limited = await login({ username: 'ann', password: 'correct horse' });
  assert.equal(
    limited.status,
    429,
    'after four failed attempts for ann from this address, even the right password is refused',
  );
  assert.ok(Number(limited.retryAfter) > 0);
  assert.ok(
    !JSON.stringify(await app.storage.sql.select('SELECT * FROM jwt_auth_users')).includes('correct horse'),
    'only a hash is stored',
  );
});

test('auth enabled with nothing to verify tokens refuses to start; the login route exists only with auth on', async (t) => {
  await assert.rejects(
    testApp(t, { auth: { enabled: true } }),
    /nothing can verify tokens: set auth\.jwt_secret \(env APFLOW_JWT_SECRET\) or auth\.jwks_url/,
  );
  const open = await testApp(t);
  assert.equal(
    (await open.inject({ method: 'POST', url: '/auth/login', payload: { username: 'a', password: 'b' } })).statusCode,
    404,
  );
  assert.equal(
    (await open.inject({ method: 'POST', url: '/tasks', payload: { jsonrpc: '2.0', id: 1, method: 'tasks.count' } }))
      .statusCode,
    200,
    'auth is off by default',
  );
});

test('the CLI: apflow users add (password on stdin), then login through a real server; apflow auth token mints an admin token; users list and remove', async (t) => {
  const dir = tempProject(t);
  writeFiles(dir, {
    'apflow.config.json': JSON.stringify({
      database: { url: `sqlite:${join(dir, 'db.sqlite')}` },
      executors: { dirs: [] },
    }),
  });
  const env = { APFLOW_JWT_SECRET: SECRET };
  const added = await runApflow(['users', 'add', 'cli-user', '--password-stdin'], {
    cwd: dir,
    env,
    input: 'a long enough password\n',
  });
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added cli-user/);
  assert.equal(
    (await runApflow(['users', 'add', 'short', '--password-stdin'], { cwd: dir, env, input: 'short\n' })).code,
    1,
  );
  const minted = await runApflow(['auth', 'token', '--sub', 'ops', '--role', 'admin', '--expires', '1h'], {
    cwd: dir,
    env,
  });
  assert.equal(minted.code, 0, minted.stderr);

  const server = spawnApflow(['serve', '--port', '0', '--host', '127.0.0.1'], { cwd: dir, env });
  t.after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  const url = await waitListening(server);
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'cli-user', password: 'a long enough password' }),
  });
  assert.equal(login.status, 200);
  const token = String(((await login.json()) as { access_token: string }).access_token);
  assert.equal((await count(url, token)).body.result?.user_id, 'cli-user');
  const admin = await count(url, minted.stdout.trim());
  assert.equal(admin.status, 200);
  assert.equal(admin.body.result?.user_id, undefined, 'the minted token is an administrator');
  assert.equal((await count(url)).status, 401);

  const listedUsers = await runApflow(['users', 'list'], { cwd: dir, env });
  assert.match(listedUsers.stdout, /^cli-user\t-\t/m);
  assert.equal((await runApflow(['users', 'remove', 'cli-user'], { cwd: dir, env })).code, 0);
  const again = await runApflow(['users', 'remove', 'cli-user'], { cwd: dir, env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no user 'cli-user'/);
  assert.ok(
    !server.stdout().includes(SECRET) && !server.stderr().includes(SECRET),
    'the secret never reaches the logs',
  );
});

test('login limits count per (address, username), and per address across usernames', async (t) => {
  const { url } = await authedApp(
    t,
    { jwt_secret: SECRET },
    { jwt_auth: { login_max_attempts: 2, login_max_attempts_per_address: 3, login_window_s: 60 } },
  );
  const { request } = await import('node:http');
  const login = (from: string, username: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/auth/login`,
        { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ username, password: 'not the password' }));
    });
  assert.deepEqual([await login('127.0.0.1', 'bob'), await login('127.0.0.1', 'bob')], [401, 401]);
  assert.equal(await login('127.0.0.1', 'bob'), 429, "bob's attempts from this address are limited");
  assert.equal(await login('127.0.0.2', 'bob'), 401, 'but not from another address: nobody can lock bob out');
  assert.equal(await login('127.0.0.1', 'dora'), 429, 'an address that tried too often is limited for every username');
});
