import assert from 'node:assert/strict';
import { test } from 'node:test';
import { otlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
import { server, tree3 } from './tasks-api-setup.ts';

// The kernel's own spans, exported by the telemetry plugin: one trace per run of a tree, a task
// span per task nested as the tree (their ids pinned by the kernel's `createTraceIdGenerator`,
// which the plugin's provider uses).

/** The task id a task span is about. */
const taskOf = (span: ReceivedSpan) => span.attributes['apflow.task.id'];

test('a tree run is one trace: apflow.run, an apflow.task span per task, the children under the root task', async (t) => {
  const receiver = await otlpReceiver(t);
  const { app, ok } = await server(t, { inline: { telemetry: { enabled: true, otlp: { endpoint: receiver.url } } } });
  await ok('tasks.create', tree3());
  await ok('tasks.execute', { task_id: 'r' });
  await app.service('telemetry')?.flush();

  const spans = await receiver.waitFor((received) => {
    const tasks = received.filter((span) => span.name === 'apflow.task');
    const names = new Set(received.map((span) => span.name));
    return tasks.length === 3 && names.has('apflow.run') && names.has('apflow.execute') && received;
  });
  const named = (name: string) => spans.filter((span) => span.name === name);
  const [execute] = named('apflow.execute');
  const [run] = named('apflow.run');
  const tasks = named('apflow.task');
  assert.ok(execute && run);
  assert.deepEqual(tasks.map(taskOf).sort(), ['a', 'b', 'r']);
  assert.equal(new Set(spans.map((span) => span.traceId)).size, 1, 'one trace');
  assert.equal(run.parentSpanId, execute.spanId, 'the run is under the request that began it');
  const root = tasks.find((span) => taskOf(span) === 'r');
  assert.equal(root?.parentSpanId, run.spanId, 'the root task is under the run');
  for (const child of tasks.filter((span) => span !== root)) {
    assert.equal(child.parentSpanId, root.spanId, `task ${String(taskOf(child))} is a child of the root task's span`);
  }
  for (const call of named('apflow.executor')) {
    const task = tasks.find((span) => taskOf(span) === taskOf(call));
    assert.equal(call.parentSpanId, task?.spanId, `the executor call of ${String(taskOf(call))} is under its task`);
  }
});

test('a failed task’s span and its executor call’s have the error status and message; the run’s says failed', async (t) => {
  const receiver = await otlpReceiver(t);
  const { app, ok } = await server(t, { inline: { telemetry: { enabled: true, otlp: { endpoint: receiver.url } } } });
  await ok('tasks.create', [
    { id: 'broken', name: 'Broken', schemas: { method: 'fail' }, inputs: { message: 'it broke' } },
  ]);
  await ok('tasks.execute', { task_id: 'broken' });
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.run') && received.some((span) => span.name === 'apflow.task')
      ? received
      : null,
  );
  const named = (name: string) => spans.find((span) => span.name === name);
  for (const name of ['apflow.task', 'apflow.executor']) {
    assert.equal(named(name)?.status.code, 2, `${name} has the error status`);
    assert.match(String(named(name)?.status.message), /it broke/);
  }
  assert.ok(
    named('apflow.executor')?.events.some((event) => event.name === 'exception'),
    'the exception is recorded',
  );
  assert.equal(named('apflow.run')?.attributes['apflow.task.status'], 'failed');
});
