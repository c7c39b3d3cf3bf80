import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { listenLocal, rpc } from '../helpers.ts';
import { SECRET, now, sign, unsigned, authedApp, count } from './jwt-auth-setup.ts';

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
