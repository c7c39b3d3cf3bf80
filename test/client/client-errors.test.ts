/** Typed errors, retries with backoff, timeouts and abort signals of `apflow/client`, against a real server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ApflowConnectionError,
  ApflowRpcError,
  ApflowTimeoutError,
  AuthenticationError,
  createClient,
  InvalidParamsError,
  NotFoundError,
  PermissionError,
} from 'apflow/client';
import { clientServer } from './client-setup.ts';
import { cutProxy } from './cut-proxy.ts';

const slow = [{ name: 'slow', schemas: { method: 'sleep' }, inputs: { ms: 3000 } }];

describe('apflow/client errors', () => {
  test('answers of the server are typed errors with the JSON-RPC code, data and HTTP status', async (t) => {
    const { url, alice, admin } = await clientServer(t);
    await assert.rejects(createClient({ baseUrl: url }).tasks.count(), (error) => {
      assert.ok(error instanceof AuthenticationError && error instanceof ApflowRpcError);
      assert.deepEqual([error.code, error.status, error.method], [-32001, 401, 'tasks.count']);
      return true;
    });
    await assert.rejects(alice.tasks.list({ limit: 0 }), (error) => {
      assert.ok(error instanceof InvalidParamsError);
      assert.match(error.message, /limit/);
      return true;
    });
    await assert.rejects(alice.tasks.tree({ task_id: 'nobody' }), NotFoundError);
    // Someone else's task is not found; acting as someone else is refused.
    await admin.tasks.create({ tasks: [{ id: 'bobs', name: 'bobs', user_id: 'bob' }] });
    assert.equal(await alice.tasks.get({ task_id: 'bobs' }), null);
    await assert.rejects(alice.tasks.create({ tasks: [{ name: 'for bob', user_id: 'bob' }] }), PermissionError);
  });

  test('a read is sent again after 503s (with backoff); a create or execute only with an idempotency key', async (t) => {
    const { url, alice, tokenFor } = await clientServer(t);
    const proxy = await cutProxy(t, url);
    const client = createClient({ baseUrl: proxy.url, token: await tokenFor('alice') });
    proxy.refuseNext(2);
    assert.equal((await client.tasks.count()).total, 0);
    assert.equal(proxy.requests(), 3);
    // Backed off between tries: at least 0.5 s, then 1 s, less a quarter of jitter.
    const [first = 0, second = 0, third = 0] = proxy.times();
    assert.ok(second - first >= 375 && third - second >= 750, `tries at +${second - first} ms, +${third - first} ms`);

    proxy.refuseNext(1);
    const before = proxy.requests();
    await assert.rejects(client.tasks.create({ tasks: [{ name: 'once' }] }), (error) => {
      assert.ok(error instanceof ApflowConnectionError);
      assert.equal(error.status, 503);
      return true;
    });
    assert.equal(proxy.requests(), before + 1, 'not sent again');
    assert.equal((await alice.tasks.count()).total, 0);

    proxy.refuseNext(1);
    const made = await client.tasks.create({ tasks: [{ name: 'keyed' }] }, { idempotencyKey: 'create-1' });
    assert.equal(made.name, 'keyed');
    // The same key again is the same tree, not a second one.
    assert.equal(
      (await client.tasks.create({ tasks: [{ name: 'keyed' }] }, { idempotencyKey: 'create-1' })).id,
      made.id,
    );
    assert.equal((await alice.tasks.count()).total, 1);

    proxy.refuseNext(1);
    await assert.rejects(client.tasks.count(undefined, { maxRetries: 0 }), ApflowConnectionError);
  });

  test('a server that cannot be reached is a connection error naming it', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
    await assert.rejects(client.system.health(), (error) => {
      assert.ok(error instanceof ApflowConnectionError);
      assert.match(error.message, /cannot reach http:\/\/127\.0\.0\.1:9/);
      return true;
    });
  });

  test('an abort signal stops a call and a stream; a timeout is its own error', async (t) => {
    const { alice } = await clientServer(t);
    const controller = new AbortController();
    const call = alice.execute(slow, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(call, { name: 'AbortError' });

    const streaming = new AbortController();
    const stream = alice.execute(slow, { stream: true, signal: streaming.signal });
    await assert.rejects(
      async () => {
        for await (const event of stream) if (event.type === 'task_start') streaming.abort();
      },
      { name: 'AbortError' },
    );

    await assert.rejects(alice.execute(slow, { timeout: 100 }), ApflowTimeoutError);
  });

  test('subscribe() to a server that is not there ends with a connection error, not a crash', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', maxRetries: 1 });
    await assert.rejects(async () => {
      for await (const event of client.subscribe('any')) void event;
    }, ApflowConnectionError);
  });

  test('a token from an async function reaches the WebSocket; started resolves without iterating', async (t) => {
    const { url, alice, tokenFor } = await clientServer(t);
    const token = await tokenFor('alice');
    const slowToken = createClient({
      baseUrl: url,
      token: () => new Promise<string>((resolve) => setTimeout(() => resolve(token), 200)),
    });
    const stream = slowToken.execute([{ id: 'tok', name: 'tok', schemas: { method: 'echo' } }], { stream: true });
    assert.equal((await stream.started).root_task_id, 'tok');
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    assert.equal(types.at(-1), 'final');
    const again: string[] = [];
    for await (const event of slowToken.subscribe('tok')) again.push(event.type);
    assert.deepEqual(again, types, 'the same events over the socket');
    await assert.rejects(async () => {
      for await (const event of alice.subscribe('nobody')) void event;
    }, NotFoundError);
  });
});
