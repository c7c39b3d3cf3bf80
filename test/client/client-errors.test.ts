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
});
