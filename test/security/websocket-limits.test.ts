import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually, repoRoot, sleep, testApp } from '../helpers.ts';

/**
 * `/ws` limits that hold before authentication: the size of a message, the time a connection
 * has to authenticate, the connections per client address; and a connection ends when the token
 * it authenticated with expires.
 */

const SECRET = 'websocket-limits-test-secret-0123456789abc';
const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
type Json = Record<string, unknown>;

/** A `ws` client on `/ws` (with `query`) that records messages and how it was closed. */
function open(url: string, query = '') {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws${query}`);
  const messages: Json[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Json));
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${response.statusCode}`), {
            status: response.statusCode,
            body: JSON.parse(body) as Json,
          }),
        ),
      );
    });
  });
  return {
    socket,
    messages,
    closed,
    opened,
    send: (value: unknown) => socket.send(JSON.stringify(value)),
    /** Sends `value` and waits for the first later message that passes `check`. */
    async ask(value: Json, check: (m: Json) => boolean): Promise<Json> {
      const seen = messages.length;
      socket.send(JSON.stringify(value));
      return eventually(() => messages.slice(seen).find(check), 10_000);
    },
  };
}

test('a message larger than websocket.max_message_bytes (default server.body_limit) closes the connection with 1009, before authentication', async (t) => {
  const app = await testApp(t, { auth: { jwt_secret: SECRET }, server: { body_limit: 64 * 1024 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = open(url);
  await client.opened;
  // Under the limit is answered (a ping needs no token) …
  assert.deepEqual(await client.ask({ action: 'ping', pad: 'x'.repeat(32 * 1024) }, (m) => m.type === 'pong'), {
    type: 'pong',
  });
  // … over it closes the connection, no token sent.
  client.socket.send('x'.repeat(200 * 1024));
  assert.equal((await client.closed).code, 1009);

  const own = await testApp(t, { auth: { jwt_secret: SECRET }, websocket: { max_message_bytes: 4096 } });
  const other = open((await own.listen({ host: '127.0.0.1', port: 0 })).url);
  await other.opened;
  other.send({ action: 'ping', pad: 'x'.repeat(8192) });
  assert.equal((await other.closed).code, 1009);
});

test('with authentication on, a connection that does not authenticate within websocket.auth_timeout_s is closed with 1008', async (t) => {
  const app = await testApp(t, { auth: { jwt_secret: SECRET }, websocket: { auth_timeout_s: 0.5 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const token = await app.service('jwt-auth')?.mint('alice', [], '1h');
  assert.ok(token);
  const byMessage = open(url);
  await byMessage.opened;
  assert.equal((await byMessage.ask({ action: 'auth', token }, (m) => m.type === 'authenticated')).user_id, 'alice');
  const byQuery = open(url, `?token=${token}`);
  await byQuery.opened;
  const silent = open(url);
  await silent.opened;
  silent.send({ action: 'ping' }); // a ping is no authentication

  const { code, reason } = await silent.closed;
  assert.equal(code, 1008);
  assert.match(reason, /authentication timeout/);
  // The two that authenticated (opened before the silent one) are still served.
  for (const client of [byMessage, byQuery])
    assert.deepEqual(await client.ask({ action: 'ping' }, (m) => m.type === 'pong'), { type: 'pong' });
  // A refused auth message does not count as authenticating.
  const wrong = open(url);
  await wrong.opened;
  assert.equal((await wrong.ask({ action: 'auth', token: 'not-a-jwt' }, (m) => m.type === 'error')).code, -32001);
  assert.equal((await wrong.closed).code, 1008);
  byMessage.socket.close();
  byQuery.socket.close();
});

test('with authentication off, no authentication deadline applies', async (t) => {
  const app = await testApp(t, { websocket: { auth_timeout_s: 0.2 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = open(url);
  await client.opened;
  await sleep(600);
  assert.deepEqual(await client.ask({ action: 'ping' }, (m) => m.type === 'pong'), { type: 'pong' });
  client.socket.close();
});

test('connections per client address are capped by websocket.max_connections_per_ip: more are refused with 429', async (t) => {
  const app = await testApp(t, { websocket: { max_connections_per_ip: 3 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const clients = [open(url), open(url), open(url)];
  await Promise.all(clients.map((client) => client.opened));
  const refused = open(url);
  const error = (await refused.opened.then(
    () => assert.fail('a fourth connection was accepted'),
    (reason: unknown) => reason,
  )) as { status: number; body: { error: { code: string; message: string } } };
  assert.equal(error.status, 429);
  assert.equal(error.body.error.code, 'APF_RATE_LIMITED');
  assert.match(error.body.error.message, /max_connections_per_ip/);

  // A closed connection frees its slot; refused ones never held one.
  clients[0]?.socket.close();
  await clients[0]?.closed;
  const again = await eventually(async () => {
    const client = open(url);
    return client.opened.then(
      () => client,
      () => undefined,
    );
  });
  const extra = open(url);
  assert.equal(((await extra.opened.catch((reason: unknown) => reason)) as { status?: number }).status, 429);
  for (const client of [...clients.slice(1), again]) client.socket.close();
});

test('a connection is closed when the token it authenticated with expires, unless an auth message brought a later one', async (t) => {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    executors: { dirs: [fixtures] },
    server: { shutdown_timeout_s: 0 },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const short = await jwt.mint('alice', [], '2s');
  const long = await jwt.mint('alice', [], '1h');

  const tree = await app.engine.createTree([{ name: 'waits', schemas: { method: 'hang' } }], { userId: 'alice' });
  void app.engine.execute(tree.id);
  const subscriber = open(url, `?token=${short}`);
  await subscriber.opened;
  await subscriber.ask({ action: 'subscribe', task_id: tree.id }, (m) => m.type === 'subscribed');
  const renewed = open(url);
  await renewed.opened;
  await renewed.ask({ action: 'auth', token: short }, (m) => m.type === 'authenticated');
  await renewed.ask({ action: 'auth', token: long }, (m) => m.type === 'authenticated');

  const { code, reason } = await subscriber.closed;
  assert.equal(code, 1008);
  assert.match(reason, /token expired: reconnect with a fresh token/);
  assert.deepEqual(await renewed.ask({ action: 'ping' }, (m) => m.type === 'pong'), { type: 'pong' });
  renewed.socket.close();
});
