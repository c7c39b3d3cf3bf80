import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import type { App } from 'apflow';
import { createRateLimit } from '../../plugins/jwt-auth/rate-limit.ts';
import { testApp } from '../helpers.ts';

// Issue 18, findings 2 and 6: /auth/login kept attacker-chosen memory forever, and anyone could
// lock any account out.

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';

async function loginApp(t: TestContext, jwtAuth: Record<string, unknown>) {
  const app = await testApp(t, { auth: { jwt_secret: SECRET }, jwt_auth: jwtAuth });
  await (app as App).service('jwt-auth')?.users.add('alice', 'alice password', []);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return url;
}

/** POST /auth/login with a raw body from the source address `from` (all of 127/8 is loopback on Linux). */
function post(url: string, body: string, from = '127.0.0.1') {
  return new Promise<{ status: number; body: string; retryAfter?: string }>((resolve, reject) => {
    const req = request(
      `${url}/auth/login`,
      { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, retryAfter: res.headers['retry-after'] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const login = async (url: string, from: string, username: string, password: string) =>
  (await post(url, JSON.stringify({ username, password }), from)).status;

test('the login limiter holds at most maxKeys keys, however many distinct (long) keys come, and drops keys whose window passed', () => {
  const limit = createRateLimit({ max: 3, windowS: 60, maxKeys: 100 });
  for (let i = 0; i < 5000; i += 1) limit.hit(`${i}:${'u'.repeat(10_000)}`);
  assert.equal(limit.size, 100, 'bounded by maxKeys, least recently hit evicted');
  const recent = `4999:${'u'.repeat(10_000)}`;
  assert.deepEqual([limit.hit(recent), limit.hit(recent)], [0, 0], 'the most recent key kept its count (3 of 3 now)');
  assert.ok(limit.hit(recent) > 0, 'the fourth attempt within the window waits');
  for (let i = 0; i < 1000; i += 1)
    assert.ok(limit.hit(recent) > 0, 'a key that keeps trying stays limited (at most max + 1 times kept)');

  const stale = createRateLimit({ max: 3, windowS: 60 });
  const long = Date.now() - 120_000;
  for (let i = 0; i < 500; i += 1) stale.hit(`old-${i}`, long);
  assert.equal(stale.size, 0, 'keys whose window passed are dropped');

  const undo = createRateLimit({ max: 1, windowS: 60 });
  const at = Date.now();
  undo.hit('k', at);
  undo.forget('k', at);
  assert.equal(undo.hit('k'), 0, 'a forgotten attempt does not count');
  undo.reset('k');
  assert.equal(undo.size, 0);
});

test('a 5 MB login body is refused with 413 before parsing, an over-long username with 400, and logins still work afterwards', async (t) => {
  const url = await loginApp(t, { login_max_attempts: 3, login_max_attempts_per_address: 100 });
  for (let i = 0; i < 5; i += 1) {
    const huge = await post(
      url,
      JSON.stringify({ username: `${i}${'x'.repeat(5 * 1024 * 1024)}`, password: 'p' }),
      '127.0.0.9',
    );
    assert.equal(huge.status, 413);
    assert.match(huge.body, /login body is at most 16 KB/);
  }
  const long = await post(url, JSON.stringify({ username: 'x'.repeat(10_000), password: 'p' }), '127.0.0.9');
  assert.equal(long.status, 400);
  assert.match(long.body, /username of at most 255 characters/);
  assert.equal(await login(url, '127.0.0.1', 'alice', 'alice password'), 200);
});

test('a malformed login body counts against the address only, never against a username', async (t) => {
  const url = await loginApp(t, { login_max_attempts: 2, login_max_attempts_per_address: 5 });
  // Three malformed attempts naming alice (a password longer than 1024): before the fix each counted for alice.
  for (let i = 0; i < 3; i += 1)
    assert.equal(
      (await post(url, JSON.stringify({ username: 'alice', password: 'p'.repeat(2000) }), '127.0.0.2')).status,
      400,
    );
  assert.equal(await login(url, '127.0.0.2', 'alice', 'alice password'), 200, 'alice is not limited by them');
  assert.equal((await post(url, '{"username": ', '127.0.0.2')).status, 400, 'not JSON: counted for the address too');
  assert.equal((await post(url, '{}', '127.0.0.2')).status, 400);
  const limited = await post(url, '{}', '127.0.0.2');
  assert.equal(limited.status, 429, 'the sixth failed attempt from the address (its success taken back) is refused');
  assert.ok(Number(limited.retryAfter) > 0);
});

test('nobody can lock a user out from elsewhere: limits are per address and per (address, username); a success resets and does not count', async (t) => {
  const url = await loginApp(t, { login_max_attempts: 3, login_max_attempts_per_address: 6 });
  const attacker = [];
  for (let i = 0; i < 5; i += 1) attacker.push(await login(url, '127.0.0.2', 'alice', 'guess'));
  assert.deepEqual(attacker, [401, 401, 401, 429, 429], 'guesses for alice from one address are limited');
  assert.equal(
    await login(url, '127.0.0.3', 'alice', 'alice password'),
    200,
    'alice still logs in from her own address',
  );
  assert.equal(
    await login(url, '127.0.0.2', 'alice', 'alice password'),
    429,
    'the guessing address stays limited for alice',
  );

  const successes = [];
  for (let i = 0; i < 5; i += 1) successes.push(await login(url, '127.0.0.4', 'alice', 'alice password'));
  assert.deepEqual(successes, [200, 200, 200, 200, 200], 'successful logins do not count');

  const typos = [];
  for (const password of ['typo', 'typo', 'alice password', 'typo', 'typo', 'typo'])
    typos.push(await login(url, '127.0.0.5', 'alice', password));
  assert.deepEqual(typos, [401, 401, 200, 401, 401, 401], 'a success resets the count for that address and username');

  const spraying = [];
  for (let i = 1; i <= 7; i += 1) spraying.push(await login(url, '127.0.0.6', `user${i}`, 'guess'));
  assert.deepEqual(spraying, [401, 401, 401, 401, 401, 401, 429], 'one address is limited across usernames');
  assert.equal(await login(url, '127.0.0.7', 'user7', 'guess'), 401, 'but only that address');
});
