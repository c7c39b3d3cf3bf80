import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { App } from 'apflow';
import { runApflow, spawnApflow, tempProject, testApp, waitListening, writeFiles } from '../helpers.ts';
import { SECRET, authedApp, count } from './jwt-auth-setup.ts';

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
