import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually, freePort, launchApflow, tempProject, testApp, waitListening } from '../helpers.ts';

/**
 * WebSocket upgrade requests the server does not turn into a live WebSocket (another route, a
 * refused token, a foreign Origin) are answered over HTTP and their socket is closed; shutdown
 * closes every upgrade socket, live or not, within `server.shutdown_timeout_s`.
 */

const SECRET = 'websocket-upgrade-test-secret-0123456789ab';

/** A raw TCP client that sends an upgrade request to `path` and reads what comes back. */
function upgradeRequest(port: number, path: string, headers: Record<string, string> = {}) {
  const socket: Socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return {
    socket,
    ended,
    closed,
    /** The status of the answer, once its head arrived. */
    status: () => eventually(() => /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]).then(Number),
    body: () => data.slice(data.indexOf('\r\n\r\n') + 4),
  };
}

/** Open TCP handles of this process (client and server sides alike). */
const tcpHandles = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;

/** Resolves when `promise` does, rejects after `ms` (a bound, not a timing claim). */
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms).unref()),
  ]);

test('an upgrade request to a route that is not a WebSocket, or refused by auth, is answered and its socket closed', async (t) => {
  const app = await testApp(t, { auth: { jwt_secret: SECRET } });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  const before = tcpHandles();

  const expected: [string, number][] = [
    ['/health', 200],
    ['/ws?token=bad', 401],
    ['/tasks', 401],
    ['/nosuch', 401],
  ];
  for (const [path, status] of expected) {
    const client = upgradeRequest(port, path);
    assert.equal(await client.status(), status, path);
    // The client half-closes after the answer (as curl and the reproduction do).
    client.socket.end();
    await within(client.ended, 5000, `the server ends ${path}'s socket`);
    await within(client.closed, 5000, `${path}'s socket closes`);
  }
  // Many at once, the client closing right after sending: nothing stays open on the server.
  const many = Array.from({ length: 40 }, (_, n) => upgradeRequest(port, n % 2 ? '/health' : '/ws?token=bad'));
  for (const client of many) client.socket.end();
  await within(Promise.all(many.map((client) => client.closed)), 10_000, 'every socket closes');
  await eventually(() => tcpHandles() <= before, 5000);
});

test('an upgrade request the server answers is closed by the server even if the client keeps its side open', async (t) => {
  const app = await testApp(t, { auth: { jwt_secret: SECRET } });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = upgradeRequest(port, '/nosuch');
  assert.equal(await client.status(), 401);
  await within(client.ended, 5000, 'the server ends the socket');
  assert.match(client.body(), /APF_UNAUTHENTICATED/);
});

test('without auth, a non-WebSocket route answers an upgrade request and closes; /ws still upgrades', async (t) => {
  const app = await testApp(t);
  const { url, port } = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const path of ['/health', '/nosuch']) {
    const client = upgradeRequest(port, path);
    assert.ok([200, 404].includes(await client.status()), path);
    await within(client.ended, 5000, `the server ends ${path}'s socket`);
  }
  const live = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => live.once('open', resolve).once('error', reject));
  live.send(JSON.stringify({ action: 'ping' }));
  const pong = await new Promise((resolve) => live.once('message', (data) => resolve(JSON.parse(String(data)))));
  assert.deepEqual(pong, { type: 'pong' });
  live.close();
});

test('a WebSocket upgrade from a foreign browser Origin is refused with 403 and closed; own origin, no Origin and server.cors_origins pass', async (t) => {
  const app = await testApp(t, { server: { cors_origins: ['https://app.example'] } });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const origin of [
    'https://evil.example',
    'null',
    `http://127.0.0.1:${port + 1}`,
    `https://127.0.0.1:${port}.evil.example`,
  ]) {
    const client = upgradeRequest(port, '/ws', { Origin: origin });
    assert.equal(await client.status(), 403, origin);
    await within(client.ended, 5000, `the server ends the socket of ${origin}`);
    const body = JSON.parse(client.body()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'APF_FORBIDDEN');
    assert.match(body.error.message, /origin .* refused/);
  }
  for (const origin of [`http://127.0.0.1:${port}`, 'https://app.example', 'HTTPS://APP.EXAMPLE:443', undefined]) {
    const client = upgradeRequest(port, '/ws', origin ? { Origin: origin } : {});
    assert.equal(await client.status(), 101, String(origin));
    client.socket.destroy();
  }
  // Over WebSocket, a foreign page's connection is refused before any message is answered.
  const wsBase = `ws://127.0.0.1:${port}/ws`;
  const evil = new WebSocket(wsBase, { origin: 'https://evil.example' });
  const status = await new Promise<number | undefined>((resolve) => {
    evil.once('unexpected-response', (_request, response) => resolve(response.statusCode));
    evil.once('open', () => resolve(101));
    evil.once('error', () => undefined);
  });
  assert.equal(status, 403);

  const any = await testApp(t, { server: { cors_origins: ['*'] } });
  const anyPort = (await any.listen({ host: '127.0.0.1', port: 0 })).port;
  const allowed = upgradeRequest(anyPort, '/ws', { Origin: 'https://evil.example' });
  assert.equal(await allowed.status(), 101, "cors_origins ['*'] allows any origin");
  allowed.socket.destroy();
});

test('with the websocket plugin disabled, an upgrade request is answered as a plain request and closed', async (t) => {
  const app = await testApp(t, { disabled_plugins: ['websocket'] });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const [path, status] of [
    ['/ws', 404],
    ['/health', 200],
  ] as const) {
    const client = upgradeRequest(port, path);
    assert.equal(await client.status(), status, path);
    await within(client.ended, 5000, `the server ends ${path}'s socket`);
  }
});

test(
  'apflow serve stops on SIGTERM after refused upgrades and with a WebSocket client that ignores the close',
  { timeout: 60_000 },
  async (t) => {
    const port = await freePort();
    const cwd = tempProject(t, { 'apflow.config.yaml': 'server:\n  shutdown_timeout_s: 1\n' });
    const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
      cwd,
      env: { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' },
    });
    await waitListening(proc);

    // A refused upgrade whose client half-closed, one whose client keeps its side open, …
    const halfClosed = upgradeRequest(port, '/health');
    assert.equal(await halfClosed.status(), 200);
    halfClosed.socket.end();
    const held = upgradeRequest(port, '/nosuch');
    assert.equal(await held.status(), 404);
    // … and a live WebSocket whose client never answers frames (a raw socket after the 101).
    const mute = upgradeRequest(port, '/ws');
    assert.equal(await mute.status(), 101);

    proc.child.kill('SIGTERM');
    assert.equal(await within(proc.exited, 20_000, 'apflow exits after SIGTERM'), 0, proc.stderr());
    await within(mute.closed, 5000, 'the live socket is closed');
  },
);
