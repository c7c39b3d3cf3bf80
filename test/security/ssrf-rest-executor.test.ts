import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { HINT, listener, world } from './ssrf-setup.ts';

// Issue 18, finding 3: with auth on, any user could make rest_executor read loopback, private and
// link-local addresses (an internal admin port, a cloud metadata endpoint) and see the answer in
// the task result. Every network target a task or a client names now goes through one outbound
// policy (config `outbound`), checked on the very addresses each connection opens to.

test('rest_executor cannot reach a loopback port other than the server: the task fails with the refusal, the listener gets nothing', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const outcome = await run('bob', `http://127.0.0.1:${admin.port}/admin?api_key=key-in-query`);
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://127.0.0.1:${admin.port}/ is refused: 127.0.0.1 is not a public address ${HINT}`,
  );
  assert.ok(!JSON.stringify(outcome).includes('key-in-query'), 'the query string (it may hold a key) is not repeated');
  assert.deepEqual(admin.hits, [], 'no request reached the listener');
});

test('the cloud metadata address is refused before any connection is attempted', async (t) => {
  const { run, url } = await world(t);
  const attempts: string[] = [];
  const onSocket = ({ socket }: { socket: Socket }) =>
    void socket.on('connectionAttempt', (ip: string, port: number) => attempts.push(`${ip}:${port}`));
  dc.subscribe('net.client.socket', onSocket as (message: unknown) => void);
  t.after(() => dc.unsubscribe('net.client.socket', onSocket as (message: unknown) => void));
  const outcome = await run('bob', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://169.254.169.254/ is refused: 169.254.169.254 is not a public address ${HINT}`,
  );
  assert.ok(
    attempts.includes(`127.0.0.1:${new URL(url).port}`),
    `connection attempts are seen (the test's own call): ${attempts.join()}`,
  );
  assert.ok(!attempts.some((attempt) => attempt.startsWith('169.254.')), attempts.join());
});

test('other spellings of loopback are refused: IPv4-mapped and -compatible IPv6, decimal, octal, hex and short IPv4', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const { port } = admin;
  for (const [target, address] of [
    [`http://[::ffff:127.0.0.1]:${port}/`, '::ffff:7f00:1'],
    [`http://[::127.0.0.1]:${port}/`, '::7f00:1'],
    [`http://2130706433:${port}/`, '127.0.0.1'],
    [`http://0177.0.0.1:${port}/`, '127.0.0.1'],
    [`http://0x7f.1:${port}/`, '127.0.0.1'],
    [`http://127.1:${port}/`, '127.0.0.1'],
    [`http://[::1]:${port}/`, '::1'],
    [`http://0.0.0.0:${port}/`, '0.0.0.0'],
  ]) {
    const outcome = await run('bob', target as string);
    assert.equal(outcome.status, 'failed', target);
    assert.match(
      outcome.error ?? '',
      new RegExp(`is refused: ${(address as string).replace(/\./g, '\\.')} is not a public address`),
      target,
    );
  }
  assert.deepEqual(admin.hits, []);
});

test('a name that resolves to loopback (localhost) is refused when the connection opens', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const outcome = await run('bob', `http://localhost:${admin.port}/`);
  assert.equal(outcome.status, 'failed');
  assert.match(
    outcome.error ?? '',
    new RegExp(
      `^rest_executor: http://localhost:${admin.port}/ is refused: localhost resolves to (127\\.0\\.0\\.1|::1), which is not a public address`,
    ),
  );
  assert.deepEqual(admin.hits, []);
});

test('a redirect from an allowed host to a refused one is refused at the hop; the allowed host itself works', async (t) => {
  const { run } = await world(t, { outbound: { allow_hosts: ['localhost'] } });
  const inner = await listener(t, '127.0.0.2');
  const front = await listener(t, '127.0.0.1', 0, (req, res) => {
    if (req.url === '/plain') return res.end('front');
    res.writeHead(302, { location: `http://127.0.0.2:${inner.port}/secret` }).end();
  });
  const plain = await run('bob', `http://localhost:${front.port}/plain`);
  assert.equal(plain.status, 'completed', plain.error);
  assert.equal(plain.result?.body, 'front');

  const outcome = await run('bob', `http://localhost:${front.port}/hop`);
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://127.0.0.2:${inner.port}/ is refused: 127.0.0.2 is not a public address ${HINT} (redirected from GET http://localhost:${front.port}/hop)`,
  );
  assert.deepEqual(front.hits, ['/plain', '/hop']);
  assert.deepEqual(inner.hits, [], 'the redirect target got nothing');
});
