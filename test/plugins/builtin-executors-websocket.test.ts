import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { eventually, memoryLog, started, testApp } from '../helpers.ts';
import { holdLookups, startStallingServer, startWsServer, within } from '../fixtures/web-targets.ts';
import { completed, failed, runOne, type Json } from './builtin-executors-setup.ts';

interface WsResult {
  success: boolean;
  url: string;
  response: unknown;
  responses: unknown[];
  [field: string]: unknown;
  messages_received: number;
  stop_reason: string;
  closed_by: string;
}

// The test server listens on 127.0.0.1, which the outbound policy refuses unless allowed.
const localTargets = { outbound: { allow_hosts: ['127.0.0.1'] } };
const run = async (app: App, inputs: Json) => runOne(app, 'websocket_executor', inputs);

describe('websocket_executor', () => {
  test('sends a JSON message stringified and returns the reply parsed; the socket is then closed', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const result = completed<WsResult>(
      await run(app, { url: `${base}/echo?token=abc`, message: { op: 'ping', n: 1 } }),
    );
    assert.deepEqual(seen[0]?.received, ['{"op":"ping","n":1}']);
    assert.deepEqual(result.response, { op: 'ping', n: 1 });
    assert.deepEqual(result.responses, [{ op: 'ping', n: 1 }]);
    assert.equal(result.messages_received, 1);
    assert.equal(result.success, true);
    assert.equal(result.stop_reason, 'response');
    assert.equal(result.closed_by, 'client');
    assert.equal(result.url, `${base}/echo`, 'the query (which may hold a token) is left out');
    assert.equal(await within((seen[0] as { closed: Promise<number> }).closed, 5000, 'the close'), 1000);
  });

  test('message then messages are sent in order; text that is not JSON comes back as text', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const result = completed<WsResult>(
      await run(app, {
        url: `${base}/echo`,
        message: 'hello',
        messages: ['two', [3], 4],
        messages_until: { count: 4 },
      }),
    );
    assert.deepEqual(seen[0]?.received, ['hello', 'two', '[3]', '4']);
    assert.deepEqual(result.responses, ['hello', 'two', [3], 4]);
    assert.equal(result.response, 4, 'response is the last reply');
    assert.equal(result.stop_reason, 'messages_until');
  });

  test('messages_until stops at a JSON field value, a substring, or max_messages; progress per message', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startWsServer(t);
    const progress: TaskEvent[] = [];
    const unsubscribe = app.engine.subscribe((event) => (event.type === 'progress' ? progress.push(event) : undefined));
    t.after(unsubscribe);
    const byField = completed<WsResult>(
      await run(app, { url: `${base}/stream`, message: 'go', messages_until: { field: 'done', value: true } }),
    );
    assert.deepEqual(
      byField.responses,
      [0, 1, 2, 3, 4].map((seq) => ({ seq, done: seq === 4 })),
    );
    assert.equal(byField.stop_reason, 'messages_until');
    assert.ok(progress.some((event) => /^websocket_executor: received message [1-5]$/.test(event.message ?? '')));

    const bySubstring = completed<WsResult>(
      await run(app, { url: `${base}/stream`, message: 'go', messages_until: '"seq":2' }),
    );
    assert.equal(bySubstring.messages_received, 3);
    assert.deepEqual(bySubstring.response, { seq: 2, done: false });

    const byPath = completed<WsResult>(
      await run(app, { url: `${base}/stream`, message: 'go', messages_until: { field: 'seq', value: 1 } }),
    );
    assert.equal(byPath.messages_received, 2);

    const capped = completed<WsResult>(
      await run(app, { url: `${base}/stream`, message: 'go', messages_until: 'never', max_messages: 2 }),
    );
    assert.equal(capped.messages_received, 2);
    assert.equal(capped.stop_reason, 'max_messages');
    assert.equal(capped.success, true);
  });

  test('headers reach the server; messages sent on connect are caught', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const result = completed<WsResult>(
      await run(app, { url: `${base}/welcome`, headers: { Authorization: 'Bearer t0k', 'X-Client': 'apflow' } }),
    );
    assert.equal(seen[0]?.headers.authorization, 'Bearer t0k');
    assert.equal(seen[0]?.headers['x-client'], 'apflow');
    assert.deepEqual(result.response, { hello: 'there', authorized: true });
  });

  test('a host name is connected through its checked addresses; the Host header keeps the name', async (t) => {
    const app = await testApp(t, { outbound: { allow_hosts: ['localhost'] } });
    const { port, seen } = await startWsServer(t);
    const result = completed<WsResult>(await run(app, { url: `ws://localhost:${port}/echo`, message: 'hi' }));
    assert.equal(result.response, 'hi');
    assert.equal(seen[0]?.headers.host, `localhost:${port}`);
  });

  test('wait_response false sends, closes and returns no reply', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const result = completed<WsResult>(
      await run(app, { url: `${base}/silent`, messages: ['a', 'b'], wait_response: false }),
    );
    assert.deepEqual(result, {
      success: true,
      url: `${base}/silent`,
      response: null,
      responses: [],
      messages_received: 0,
      bytes_received: 0,
      stop_reason: 'sent',
      closed_by: 'client',
    });
    await within((seen[0] as { closed: Promise<number> }).closed, 5000, 'the close');
    assert.deepEqual(seen[0]?.received, ['a', 'b']);
  });

  test('a server that closes before replying gives success false, closed_by server and its code', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startWsServer(t);
    const result = completed<WsResult>(await run(app, { url: `${base}/close`, message: 'x' }));
    assert.equal(result.success, false);
    assert.equal(result.closed_by, 'server');
    assert.equal(result.close_code, 4000);
    assert.equal(result.stop_reason, 'server_closed');
  });

  test('a message over max_bytes is not kept and ends the exchange', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startWsServer(t);
    const result = completed<WsResult>(await run(app, { url: `${base}/big`, message: 'x', max_bytes: 1000 }));
    assert.equal(result.stop_reason, 'max_bytes');
    assert.equal(result.success, false);
    assert.deepEqual(result.responses, []);
    const fits = completed<WsResult>(await run(app, { url: `${base}/big`, message: 'x', max_bytes: 2000 }));
    assert.equal((fits.response as string).length, 2000);
  });

  test('the default policy refuses 127.0.0.1 before connecting', async (t) => {
    const app = await testApp(t);
    const { base, port, seen } = await startWsServer(t);
    const error = failed(await run(app, { url: `${base}/echo`, message: 'x' }));
    assert.equal(
      error,
      `websocket_executor: 127.0.0.1:${port} is refused: 127.0.0.1 is not a public address ` +
        '(allow it with outbound.allow_hosts or outbound.allow_private)',
    );
    assert.equal(seen.length, 0);
  });

  test('a redirect is not followed', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const error = failed(await run(app, { url: `${base}/redirect`, message: 'x' }));
    assert.match(
      error,
      /^websocket_executor: ws:\/\/127\.0\.0\.1:\d+\/redirect answered HTTP 302 .*redirects are not followed/,
    );
    assert.equal(seen.length, 0, 'the redirect target was not opened');
  });

  test('a server that never answers fails after the timeout, and the server sees the close', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const error = failed(await run(app, { url: `${base}/silent`, message: 'x', timeout: 0.3 }));
    assert.equal(error, `websocket_executor: ${base}/silent timed out after 0.3s (0 message(s) received)`);
    await within((seen[0] as { closed: Promise<number> }).closed, 5000, 'the server seeing the close');
  });

  test('a timeout that passes while the host name resolves fails the task; the server keeps running', async (t) => {
    // The machine's own name resolves locally (a lookup, unlike an address or `localhost`).
    const name = hostname();
    const [address] = await lookup(name, { all: true });
    assert.ok(address, `${name} resolves`);
    const app = await testApp(t, { outbound: { allow_hosts: [name, '127.0.0.1'] } });
    const { base, port } = await startWsServer(t);
    // The pool is held from the task's start (the database needs it before), at most 2 s: without a
    // bound on the lookup the task waits for it, and then the socket it opens is dropped at once.
    let lookups: { release(): Promise<void> } | undefined;
    const unsubscribe = app.engine.subscribe((event) => {
      if (event.type === 'task_start') lookups ??= holdLookups(t, 2000);
    });
    t.after(unsubscribe);
    const error = failed(await run(app, { url: `ws://${name}:${port}/echo`, message: 'x', timeout: 0.001 }));
    assert.equal(
      error,
      `websocket_executor: ws://${name}:${port}/echo timed out after 0.001s (while checking its host)`,
    );
    await lookups?.release();
    // Once the late answer came, nothing was left to crash the server: it still runs tasks.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(
      completed<WsResult>(await run(app, { url: `${base}/echo`, message: 'still up' })).response,
      'still up',
    );
  });

  test('a handshake that never completes: the timeout fails the task, the server sees the close', async (t) => {
    const app = await testApp(t, localTargets);
    const { port, closed } = await startStallingServer(t);
    const error = failed(await run(app, { url: `ws://127.0.0.1:${port}/`, message: 'x', timeout: 0.3 }));
    assert.equal(error, `websocket_executor: ws://127.0.0.1:${port}/ timed out after 0.3s (0 message(s) received)`);
    await within(closed[0] as Promise<void>, 5000, 'the server seeing the close');
  });

  test('cancelling the task while the handshake is pending drops the connection', async (t) => {
    const app = await testApp(t, localTargets);
    const { port, closed } = await startStallingServer(t);
    const tree = await app.engine.createTree([
      {
        name: 'ws',
        schemas: { method: 'websocket_executor' },
        inputs: { url: `ws://127.0.0.1:${port}/`, message: 'x' },
      },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => closed.length === 1);
    await app.engine.cancel([tree.id]);
    assert.equal((await done).status, 'cancelled');
    await within(closed[0] as Promise<void>, 5000, 'the server seeing the close');
  });

  test('cancelling the task closes the socket', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const tree = await app.engine.createTree([
      { name: 'ws', schemas: { method: 'websocket_executor' }, inputs: { url: `${base}/silent`, message: 'x' } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => seen[0]?.received.length === 1);
    await app.engine.cancel([tree.id]);
    assert.equal((await done).status, 'cancelled');
    await within((seen[0] as { closed: Promise<number> }).closed, 5000, 'the server seeing the close');
  });

  test('urls that are not ws(s) and bad stop rules fail input validation', async (t) => {
    const app = await testApp(t, localTargets);
    for (const inputs of [
      { url: 'http://x' },
      {},
      { url: 'ws://x', messages_until: { count: 0 } },
      // A longer setTimeout overflows and fires at once.
      { url: 'ws://x', timeout: 86_401 },
    ]) {
      assert.match(failed(await run(app, inputs)), /^Invalid inputs for executor 'websocket_executor'/);
    }
  });

  test('the secret headers are in neither the database file nor the log', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'apflow-ws-secret-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = memoryLog();
    const app = await testApp(
      t,
      { ...localTargets, database: { url: `sqlite:${join(dir, 't.db')}` }, log: { level: 'debug' } },
      { logStream: log.stream },
    );
    const { base, seen } = await startWsServer(t);
    const secret = 'Bearer ws-SECRET-9f3c1e';
    completed(await run(app, { url: `${base}/welcome`, headers: { authorization: secret } }));
    assert.equal(seen[0]?.headers.authorization, secret, 'the executor had the plain value');
    await app.close();
    for (const file of readdirSync(dir)) {
      assert.ok(!readFileSync(join(dir, file)).includes('ws-SECRET-9f3c1e'), `the secret is in ${file}`);
    }
    assert.ok(!log.text().includes('ws-SECRET-9f3c1e'), 'the secret is in the log');
  });

  test('demo mode returns the demo result without connecting', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startWsServer(t);
    const tree = await app.engine.createTree([
      { name: 'ws', schemas: { method: 'websocket_executor' }, inputs: { url: `${base}/echo`, message: 'm' } },
    ]);
    await started(await app.engine.execute(tree.id, { demo: true })).done;
    const result = (await app.tasks.get(tree.id))?.result as Json;
    assert.equal(result.demo_mode, true);
    assert.equal(result.success, true);
    assert.match(JSON.stringify(result.response), /demo/);
    assert.equal(seen.length, 0);
  });
});
