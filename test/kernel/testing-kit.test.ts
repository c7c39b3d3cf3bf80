import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineExecutor, Type } from 'apflow';
import { runExecutor, runTree } from 'apflow/testing';

const greet = defineExecutor({
  id: 'greet',
  description: 'greets inputs.name',
  inputSchema: Type.Object({ name: Type.String() }),
  demoResult: () => ({ greeting: 'hello demo' }),
  execute: async (inputs, ctx) => {
    ctx.progress(0.5, 'half way');
    return { greeting: `hello ${inputs.name}` };
  },
});
const boom = defineExecutor({
  id: 'boom',
  description: 'always fails',
  execute: () => {
    throw new Error('it went boom');
  },
});

test('runExecutor runs one executor in memory: its result, its task as stored, every event of the run', async () => {
  const run = await runExecutor(greet, { name: 'Ada' });
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.result, { greeting: 'hello Ada' });
  assert.equal(run.error, null);
  assert.equal(run.tasks.length, 1);
  assert.equal(run.tasks[0]?.status, 'completed');
  assert.deepEqual(run.tasks[0]?.inputs, { name: 'Ada' });
  const types = run.events.map((event) => event.type);
  assert.equal(types.at(-1), 'final');
  assert.ok(types.includes('task_start') && types.includes('task_completed'), types.join());
  assert.deepEqual(
    run.events.map((event) => event.seq),
    run.events.map((_, i) => (run.events[0]?.seq ?? 0) + i),
    'every seq, in order',
  );
});

test('runExecutor reports a failure and an input the schema refuses, as the server would', async () => {
  const failed = await runExecutor(boom);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /it went boom/);
  const refused = await runExecutor(greet, { name: 42 });
  assert.equal(refused.status, 'failed');
  assert.match(refused.error ?? '', /name/);
});

test('runExecutor in demo mode gives the demo result without running the executor', async () => {
  const run = await runExecutor(greet, { name: 'Ada' }, { demo: true });
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.result, { greeting: 'hello demo', demo_mode: true });
});

test('runTree runs a small tree of given executors; a failed child shows in the tasks and the final counts', async () => {
  const ok = await runTree(
    [
      { id: 'root', name: 'root', schemas: { method: 'greet' }, inputs: { name: 'root' } },
      { id: 'child', name: 'child', parent_id: 'root', schemas: { method: 'greet' }, inputs: { name: 'child' } },
    ],
    { executors: [greet] },
  );
  assert.equal(ok.status, 'completed');
  assert.deepEqual(
    ok.tasks.map((task) => [task.id, task.status, task.result]),
    [
      ['root', 'completed', { greeting: 'hello root' }],
      ['child', 'completed', { greeting: 'hello child' }],
    ],
  );
  const bad = await runTree(
    [
      { id: 'root', name: 'root', schemas: { method: 'greet' }, inputs: { name: 'root' } },
      { id: 'child', name: 'child', parent_id: 'root', schemas: { method: 'boom' } },
    ],
    { executors: [greet, boom] },
  );
  assert.deepEqual(
    bad.tasks.map((task) => [task.id, task.status]),
    [
      ['root', 'completed'],
      ['child', 'failed'],
    ],
  );
  assert.match(bad.tasks[1]?.error ?? '', /it went boom/);
  assert.deepEqual(bad.events.at(-1)?.counts, {
    total: 2,
    completed: 1,
    failed: 1,
    cancelled: 0,
    pending: 0,
    in_progress: 0,
    input_required: 0,
  });
});
