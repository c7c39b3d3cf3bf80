import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { type Json, server, tree3, ids } from './tasks-api-setup.ts';

test('tasks.execute runs a stored tree or a tasks array and answers when it ends', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', tree3());
  const answer = await ok<Json>('tasks.execute', { task_id: 'r' });
  assert.deepEqual(answer, {
    success: true,
    protocol: 'jsonrpc',
    root_task_id: 'r',
    task_id: 'r',
    status: 'completed',
    progress: 1,
    result: { x: 1 },
    message: 'Task execution completed',
  });
  const b = await ok<Json>('tasks.get', { task_id: 'b' });
  assert.deepEqual([b.status, b.progress], ['completed', 1]);

  const fromArray = await ok<Json>('tasks.execute', {
    tasks: [{ id: 'n1', name: 'N1', schemas: { method: 'echo' }, inputs: { hi: 'there' } }],
  });
  assert.deepEqual(
    [fromArray.success, fromArray.root_task_id, fromArray.status, fromArray.result],
    [true, 'n1', 'completed', { hi: 'there' }],
  );

  const failed = await ok<Json>('tasks.execute', {
    tasks: [{ id: 'f1', name: 'F1', schemas: { method: 'fail' }, inputs: { message: 'kaput' } }],
  });
  assert.equal(failed.status, 'failed');
  assert.match(String(failed.error), /kaput/);

  assert.deepEqual(await fails('tasks.execute', {}), {
    code: -32602,
    message: 'Either task_id or tasks array is required',
  });
  assert.deepEqual(await fails('tasks.execute', { task_id: 'nope' }), { code: -32004, message: 'Task nope not found' });

  const copied = await ok<Json>('tasks.execute', { task_id: 'r', copy_execution: true, copy_children: true });
  assert.equal(copied.original_task_id, 'r');
  assert.notEqual(copied.root_task_id, 'r');
  assert.equal(copied.status, 'completed');
  const copy = await ok<Json>('tasks.get', { task_id: copied.root_task_id });
  assert.deepEqual([copy.original_task_id, copy.status], ['r', 'completed']);
});

test('while a hang tree runs: running.*, execute answers already_running, update refuses, cancel stops it', async (t) => {
  const { url, ok, fails } = await server(t);
  await ok('tasks.create', [
    { id: 'h', name: 'H', user_id: 'u1', schemas: { method: 'hang' } },
    { id: 'hc', name: 'HC', parent_id: 'h', user_id: 'u1', schemas: { method: 'noop' } },
  ]);
  await ok('tasks.create', [{ id: 'idle', name: 'Idle', user_id: 'u2', schemas: { method: 'noop' } }]);
  await ok('tasks.create', [{ id: 'done', name: 'Done', schemas: { method: 'noop' } }]);
  await ok('tasks.execute', { task_id: 'done' });

  const running = ok<Json>('tasks.execute', { task_id: 'h' });
  await eventually(async () => (await ok<Json>('tasks.get', { task_id: 'h' })).status === 'in_progress');

  assert.deepEqual(ids(await ok<Json[]>('tasks.running.list', {})), ['h']);
  assert.deepEqual(await ok('tasks.running.list', { user_id: 'u2' }), []);
  assert.deepEqual(await ok('tasks.running.count', {}), { count: 1 });
  assert.deepEqual(await ok('tasks.running.count', { user_id: 'u1' }), { count: 1, user_id: 'u1' });
  assert.deepEqual(await ok('tasks.running.count', { user_id: 'u2' }), { count: 0, user_id: 'u2' });
  const health = await ok<Json>('system.health', {}, '/system');
  assert.equal(health.running_tasks_count, 1);

  const statuses = await ok<Json[]>('tasks.running.status', { task_ids: ['h', 'nope'] });
  assert.equal(statuses.length, 2);
  const h = statuses[0] as Json;
  assert.deepEqual(Object.keys(h).sort(), [
    'context_id',
    'error',
    'is_running',
    'progress',
    'started_at',
    'status',
    'task_id',
    'updated_at',
  ]);
  assert.deepEqual([h.task_id, h.context_id, h.status, h.is_running, h.error], ['h', 'h', 'in_progress', true, null]);
  assert.equal(typeof h.started_at, 'string');
  assert.deepEqual(statuses[1], { task_id: 'nope', context_id: 'nope', status: 'not_found' });
  const finished = await ok<Json[]>('tasks.running.status', { context_ids: 'hc, nope' });
  assert.deepEqual(
    finished.map((entry) => [entry.task_id, entry.status, entry.is_running]),
    [
      ['hc', 'completed', true],
      ['nope', 'not_found', undefined],
    ],
  );

  const rest = await fetch(`${url}/tasks/hc/status`);
  assert.equal(rest.status, 200);
  assert.equal(((await rest.json()) as Json).is_running, true);

  assert.deepEqual(await ok('tasks.execute', { task_id: 'h' }), {
    success: false,
    protocol: 'jsonrpc',
    root_task_id: 'h',
    status: 'already_running',
    message: 'Task h is already running',
  });
  const busy = await fails('tasks.update', { task_id: 'hc', name: 'x' });
  assert.equal(busy.code, -32005);
  assert.match(busy.message, /running/);
  assert.equal((await fails('tasks.delete', { task_id: 'hc' })).code, -32005);

  const cancelled = await ok<Json[]>('tasks.running.cancel', {
    task_ids: 'h,nope,done,idle',
    force: true,
    error_message: 'stop now',
  });
  assert.deepEqual(cancelled, [
    { task_id: 'h', status: 'cancelled', message: 'stop now', force: true },
    { task_id: 'nope', status: 'failed', message: 'Task nope not found', error: 'Task not found', force: true },
    {
      task_id: 'done',
      status: 'failed',
      message: 'Task done is already completed, cannot cancel',
      current_status: 'completed',
      force: true,
    },
    { task_id: 'idle', status: 'cancelled', message: 'stop now', force: true },
  ]);
  const outcome = await running;
  assert.equal(outcome.success, true);
  assert.deepEqual([outcome.root_task_id, outcome.status], ['h', 'cancelled']);
  const hRow = await ok<Json>('tasks.get', { task_id: 'h' });
  assert.deepEqual([hRow.status, hRow.error], ['cancelled', 'stop now']);
  assert.equal(typeof hRow.completed_at, 'string');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'hc' })).status, 'completed', 'a finished child stays finished');
  const idle = await ok<Json>('tasks.get', { task_id: 'idle' });
  assert.deepEqual([idle.status, idle.error], ['cancelled', 'stop now']);

  await eventually(async () => (await ok<Json>('tasks.running.count', {})).count === 0);
  assert.deepEqual(await ok('tasks.running.list', {}), []);
  assert.equal((await ok<Json>('system.health', {}, '/system')).running_tasks_count, 0);
});

test('tasks.cancel: defaults, the context_ids alias and a missing id list', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', [{ id: 'p1', name: 'P1' }]);
  await ok('tasks.create', [{ id: 'p2', name: 'P2' }]);
  assert.deepEqual(await ok('tasks.cancel', { task_ids: ['p1'] }), [
    { task_id: 'p1', status: 'cancelled', message: 'Cancelled by user', force: false },
  ]);
  assert.equal((await ok<Json>('tasks.get', { task_id: 'p1' })).error, 'Cancelled by user');
  assert.deepEqual(await ok('tasks.cancel', { context_ids: 'p2', force: true }), [
    { task_id: 'p2', status: 'cancelled', message: 'Force cancelled by user', force: true },
  ]);
  assert.deepEqual(await ok('tasks.cancel', { task_ids: ['p1'] }), [
    {
      task_id: 'p1',
      status: 'failed',
      message: 'Task p1 is already cancelled, cannot cancel',
      current_status: 'cancelled',
      force: false,
    },
  ]);
  assert.equal((await fails('tasks.cancel', {})).code, -32602);
  assert.equal((await fails('tasks.running.status', {})).code, -32602);
  assert.deepEqual(await ok('tasks.count', {}), {
    total: 2,
    pending: 0,
    in_progress: 0,
    input_required: 0,
    completed: 0,
    failed: 0,
    cancelled: 2,
  });
});
