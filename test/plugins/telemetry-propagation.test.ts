/**
 * Trace context through apflow: an incoming `traceparent` is the run's parent; what a task makes
 * the server call (rest_executor's request, a webhook) carries a `traceparent` of the run's spans,
 * so the service called continues the same trace. Spans are read from a real OTLP receiver.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, httpReceiver, rpc } from '../helpers.ts';
import { otlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
import { server } from './tasks-api-setup.ts';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

const taskOf = (span: ReceivedSpan) => span.attributes['apflow.task.id'];

test('a traceparent on tasks.execute is the parent of the run; rest_executor and webhooks send the run’s trace on', async (t) => {
  const receiver = await otlpReceiver(t);
  const target = await httpReceiver(t);
  const hook = await httpReceiver(t);
  const { app, url } = await server(t, {
    inline: {
      telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } },
      outbound: { allow_private: true },
    },
  });
  const call = (method: string, params: unknown, headers: Record<string, string> = {}) =>
    rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params }, headers);
  await call('tasks.create', [
    { id: 'root', name: 'Root', schemas: { method: 'echo' } },
    {
      id: 'post',
      name: 'Post',
      parent_id: 'root',
      schemas: { method: 'rest_executor' },
      inputs: { url: target.url, method: 'POST', json: { hello: 'world' } },
    },
  ]);
  const answer = await call(
    'tasks.execute',
    { task_id: 'root', webhook_config: { url: hook.url } },
    { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  );
  assert.equal((answer.body?.result as { status: string }).status, 'started', JSON.stringify(answer.body));
  await eventually(async () => (await app.tasks.get('root'))?.status === 'completed');
  await eventually(() => hook.hits.some((hit) => hit.body.type === 'final'));
  await app.service('telemetry')?.flush();

  const spans = await receiver.waitFor((received) => {
    const names = received.map((span) => span.name);
    return names.includes('apflow.run') && names.filter((name) => name === 'apflow.task').length === 2 && received;
  });
  assert.deepEqual(new Set(spans.map((span) => span.traceId)), new Set([CALLER_TRACE]), 'all in the caller’s trace');
  const named = (name: string) => spans.filter((span) => span.name === name);
  const [execute] = named('apflow.execute');
  const [run] = named('apflow.run');
  assert.equal(execute?.parentSpanId, CALLER_SPAN, 'the request’s span is a child of the caller’s');
  assert.equal(run?.parentSpanId, execute?.spanId);

  // The REST target got the trace of the executor call that made the request.
  const [request] = target.hits;
  const sent = TRACEPARENT.exec(String(request?.headers.traceparent));
  assert.ok(sent, `traceparent sent: ${String(request?.headers.traceparent)}`);
  const restCall = named('apflow.executor').find((span) => taskOf(span) === 'post');
  assert.deepEqual([sent[1], sent[2]], [CALLER_TRACE, restCall?.spanId]);
  assert.equal(restCall?.parentSpanId, named('apflow.task').find((span) => taskOf(span) === 'post')?.spanId);

  // The webhook's deliveries are under the run's span.
  assert.ok(hook.hits.length > 0);
  for (const hit of hook.hits) {
    const carried = TRACEPARENT.exec(String(hit.headers.traceparent));
    assert.deepEqual(
      carried && [carried[1], carried[2]],
      [CALLER_TRACE, run?.spanId],
      `webhook ${String(hit.body.type)}`,
    );
  }
});

test('without telemetry nothing is traced: no traceparent goes out, none is stored', async (t) => {
  const target = await httpReceiver(t);
  const { app, ok } = await server(t, { inline: { outbound: { allow_private: true } } });
  await ok('tasks.create', [
    {
      id: 'plain',
      name: 'Plain',
      schemas: { method: 'rest_executor' },
      inputs: { url: target.url, method: 'POST', json: {} },
    },
  ]);
  await ok('tasks.execute', { task_id: 'plain' });
  assert.equal(target.hits[0]?.headers.traceparent, undefined);
  assert.equal((await app.tasks.get('plain'))?.trace_parent, null);
});

test('execute_task_tree on POST / joins the caller’s trace; detail: debug adds a span per database turn', async (t) => {
  const receiver = await otlpReceiver(t);
  const { app, url } = await server(t, {
    inline: { telemetry: { enabled: true, detail: 'debug', otlp: { endpoint: receiver.url, protocol: 'http/json' } } },
  });
  const answer = await rpc(
    url,
    '/',
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'execute_task_tree',
      params: { tasks: [{ id: 'ett', name: 'Ett', schemas: { method: 'echo' } }] },
    },
    { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  );
  assert.equal((answer.body?.result as { status: string }).status, 'completed', JSON.stringify(answer.body));
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.run') && received.some((span) => span.name === 'apflow.db.turn')
      ? received
      : null,
  );
  const execute = spans.find((span) => span.name === 'apflow.execute');
  assert.deepEqual([execute?.traceId, execute?.parentSpanId], [CALLER_TRACE, CALLER_SPAN]);
  const turn = spans.find((span) => span.name === 'apflow.db.turn');
  assert.equal(typeof turn?.attributes['apflow.db.events'], 'number');
});

test('apflow_api_executor’s calls to another apflow carry its executor span’s traceparent', async (t) => {
  const receiver = await otlpReceiver(t);
  const remote = await httpReceiver(t, () => 503);
  const { app, ok } = await server(t, {
    inline: {
      telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } },
      outbound: { allow_private: true },
    },
  });
  await ok('tasks.create', [
    {
      id: 'remote-call',
      name: 'Remote call',
      schemas: { method: 'apflow_api_executor' },
      inputs: {
        base_url: new URL(remote.url).origin,
        params: { tasks: [{ name: 'far', schemas: { method: 'echo' } }] },
      },
    },
  ]);
  await ok('tasks.execute', { task_id: 'remote-call' });
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.executor') ? received : null,
  );
  const call = spans.find((span) => span.name === 'apflow.executor');
  assert.ok(remote.hits.length > 0, 'the remote server was called');
  for (const hit of remote.hits) {
    const sent = TRACEPARENT.exec(String(hit.headers.traceparent));
    assert.deepEqual(sent && [sent[1], sent[2]], [call?.traceId, call?.spanId], hit.url);
  }
});

test('an A2A SendMessage with a traceparent runs its tree in the caller’s trace', async (t) => {
  const receiver = await otlpReceiver(t);
  const { app, url } = await server(t, {
    inline: { telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } } },
  });
  const message = {
    messageId: 'm-1',
    role: 'ROLE_USER',
    parts: [{ data: { tasks: [{ id: 'a2a-traced', name: 'A2A traced', schemas: { method: 'echo' } }] } }],
  };
  const answer = await rpc(
    url,
    '/',
    { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message } },
    { 'a2a-version': '1.0', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  );
  assert.equal(answer.body?.error, undefined, JSON.stringify(answer.body));
  await eventually(async () => (await app.tasks.get('a2a-traced'))?.status === 'completed');
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.run') ? received : null,
  );
  const execute = spans.find((span) => span.name === 'apflow.execute');
  assert.deepEqual([execute?.traceId, execute?.parentSpanId], [CALLER_TRACE, CALLER_SPAN]);
  assert.equal(spans.find((span) => span.name === 'apflow.run')?.traceId, CALLER_TRACE);
});
