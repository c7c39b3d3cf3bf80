import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TaskEvent } from 'apflow';
import { eventually, freePort, httpReceiver, memoryLog, repoRoot, rpc, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** A webhook receiver that records every request; `finished` waits for the final event. */
async function receiver(t: TestContext, answer?: (body: Record<string, unknown>, n: number) => number) {
  const local = await httpReceiver(t, answer);
  const finished = () => eventually(() => local.delivered().some((body) => body.final === true) && local.delivered());
  return { ...local, finished };
}

/** What the webhook body of `event` must be. */
function payload(event: TaskEvent): Record<string, unknown> {
  return {
    protocol: 'jsonrpc',
    root_task_id: event.root_task_id,
    task_id: event.task_id,
    status: event.status,
    progress: event.progress,
    message: event.message ?? '',
    type: event.type,
    timestamp: event.timestamp,
    seq: event.seq,
    final: event.type === 'final',
    ...(event.result === undefined ? {} : { result: event.result }),
    ...(event.error === undefined ? {} : { error: event.error }),
  };
}

async function webhookApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, {
    executors: { dirs: [fixtures] },
    webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] },
    ...inline,
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const execute = async (params: Record<string, unknown>) =>
    (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params })).body as {
      result?: Record<string, unknown>;
      error?: { code: number; message: string };
    };
  return { app, url, execute };
}

const tree = (id: string, ms = 20) => [
  { id, name: 'root', schemas: { method: 'echo' }, inputs: { hello: 'world' } },
  { id: `${id}-kid`, name: 'kid', parent_id: id, schemas: { method: 'sleep' }, inputs: { ms } },
];

test('every event of the run arrives in order with the payload and headers; PUT is honoured; only this run is sent', async (t) => {
  const { app, execute } = await webhookApp(t);
  const hook = await receiver(t);
  await app.engine.createTree(tree('w1'));
  const answer = await execute({ task_id: 'w1', webhook_config: { url: hook.url, headers: { 'x-token': 'abc' } } });
  assert.deepEqual(answer.result, {
    success: true,
    protocol: 'jsonrpc',
    root_task_id: 'w1',
    task_id: 'w1',
    status: 'started',
    streaming: true,
    webhook_url: hook.url,
    message: `Task execution started with webhook callbacks. Updates will be sent to ${hook.url}`,
  });
  const first = await hook.finished();
  const logged = await app.tasks.events('w1');
  assert.deepEqual(first, logged.map(payload), 'every event, in order, in the original payload shape');
  assert.equal(first.at(-1)?.type, 'final');
  assert.equal(first.at(-1)?.status, 'completed');
  for (const hit of hook.hits) {
    assert.equal(hit.method, 'POST');
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['x-token'], 'abc');
  }

  const put = await receiver(t);
  await execute({ task_id: 'w1', webhook_config: { url: put.url, method: 'PUT' } });
  const second = await put.finished();
  assert.ok(put.hits.every((hit) => hit.method === 'PUT'));
  assert.equal(second[0]?.seq, (first.at(-1)?.seq as number) + 1, 'a second run sends only its own events');
  assert.deepEqual(second, (await app.tasks.events('w1', first.at(-1)?.seq as number)).map(payload));
});

test('with use_streaming too, the stream envelope names the webhook and the webhook gets the events', async (t) => {
  const { app, url } = await webhookApp(t);
  const hook = await receiver(t);
  await app.engine.createTree(tree('w2'));
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 7,
    method: 'tasks.execute',
    params: { task_id: 'w2', use_streaming: true, webhook_config: { url: hook.url } },
  });
  const text = await (
    await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  ).text();
  const envelope = JSON.parse(
    text
      .split('\n')
      .find((line) => line.startsWith('data: '))
      ?.slice(6) ?? '{}',
  ) as { result: Record<string, unknown> };
  assert.equal(envelope.result.webhook_url, hook.url);
  assert.equal(envelope.result.status, 'started');
  assert.deepEqual(await hook.finished(), (await app.tasks.events('w2')).map(payload));
});

test('a 500 answered twice is retried, then delivery goes on in order; a 404 is not retried', async (t) => {
  const { app, execute } = await webhookApp(t);
  const flaky = await receiver(t, (_body, n) => (n < 2 ? 500 : 200));
  await app.engine.createTree(tree('w3'));
  await execute({ task_id: 'w3', webhook_config: { url: flaky.url } });
  const delivered = await flaky.finished();
  assert.deepEqual(
    flaky.hits.slice(0, 3).map((hit) => [hit.body.seq, hit.status]),
    [
      [1, 500],
      [1, 500],
      [1, 200],
    ],
  );
  assert.deepEqual(delivered, (await app.tasks.events('w3')).map(payload), 'nothing lost, order kept');

  const refusing = await receiver(t, (body) => (body.seq === 2 ? 404 : 200));
  await app.engine.createTree(tree('w4'));
  await execute({ task_id: 'w4', webhook_config: { url: refusing.url } });
  await refusing.finished();
  const seqs = refusing.hits.map((hit) => hit.body.seq);
  assert.deepEqual(
    seqs,
    (await app.tasks.events('w4')).map((event) => event.seq),
    'each event sent once: the 404 was not retried',
  );
  assert.equal(refusing.hits.find((hit) => hit.body.seq === 2)?.status, 404);
});

test('a dead receiver never affects the run: tasks.execute answers at once and the tree completes', async (t) => {
  const log = memoryLog();
  const app = await testApp(
    t,
    { executors: { dirs: [fixtures] }, webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] } },
    { logStream: log.stream },
  );
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const dead = `http://127.0.0.1:${await freePort()}/hook`;
  await app.engine.createTree(tree('w5', 400));
  const answer = (
    await rpc(url, '/tasks', {
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: { task_id: 'w5', webhook_config: { url: dead, max_retries: 1 } },
    })
  ).body as { result: Record<string, unknown> };
  assert.equal(answer.result.status, 'started');
  assert.ok(app.engine.isRunning('w5'), 'answered while the tree still runs');
  await eventually(async () => (await app.tasks.get('w5'))?.status === 'completed');
  await eventually(() => log.text().includes('webhook delivery failed'));
});

test('webhook_config errors: no url, a non-http url, a private address, a disabled plugin → -32602, and nothing runs', async (t) => {
  const { app, execute } = await webhookApp(t);
  await app.engine.createTree(tree('w6'));
  const missing = await execute({ task_id: 'w6', webhook_config: { headers: {} } });
  assert.equal(missing.error?.code, -32602);
  assert.match(missing.error?.message ?? '', /webhook_config\.url is required/);
  const ftp = await execute({ task_id: 'w6', webhook_config: { url: 'ftp://127.0.0.1/hook' } });
  assert.equal(ftp.error?.code, -32602);
  assert.match(ftp.error?.message ?? '', /http or https/);
  assert.equal((await app.tasks.get('w6'))?.status, 'pending');

  // A URL on a private address is refused unless allowed (no requests into the server's network).
  const guarded = await webhookApp(t, { webhooks: { retry_base_s: 0.05 } });
  await guarded.app.engine.createTree(tree('w8'));
  for (const url of [
    'http://127.0.0.1:9/hook',
    'http://10.1.2.3/hook',
    'http://[::1]:9/hook',
    'http://169.254.169.254/latest/meta-data',
  ]) {
    const refused = await guarded.execute({ task_id: 'w8', webhook_config: { url } });
    assert.equal(refused.error?.code, -32602, url);
    assert.match(refused.error?.message ?? '', /not a public address/, url);
  }
  assert.equal((await guarded.app.tasks.get('w8'))?.status, 'pending', 'nothing ran');

  const off = await webhookApp(t, { disabled_plugins: ['webhooks'] });
  await off.app.engine.createTree(tree('w7'));
  const disabled = await off.execute({ task_id: 'w7', webhook_config: { url: 'http://127.0.0.1:9/hook' } });
  assert.equal(disabled.error?.code, -32602);
  assert.match(disabled.error?.message ?? '', /webhooks plugin.*disabled/);
});
