import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { type Json, server, tree3, ids } from './tasks-api-setup.ts';

test('tasks.update changes allowed fields and refuses the rest with the original texts', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', tree3());
  const updated = await ok<Json>('tasks.update', {
    task_id: 'a',
    name: 'Renamed',
    priority: 3,
    inputs: { z: 9 },
    params: { p: 1 },
    progress: 0.5,
    whatever: 'ignored',
  });
  assert.deepEqual([updated.id, updated.name, updated.priority, updated.progress], ['a', 'Renamed', 3, 0.5]);
  assert.deepEqual(updated.inputs, { z: 9 });
  assert.deepEqual(updated.params, { p: 1 });
  assert.equal('whatever' in updated, false);
  assert.deepEqual(await ok('tasks.get', { task_id: 'a' }), updated, 'stored');

  assert.deepEqual(await fails('tasks.update', { task_id: 'a', parent_id: 'b' }), {
    code: -32602,
    message: "Update failed:\n- Cannot update 'parent_id': field cannot be modified (task hierarchy is fixed)",
  });
  const both = await fails('tasks.update', { task_id: 'a', parent_id: 'b', user_id: 'u9', name: 'ok' });
  assert.equal(both.code, -32602);
  assert.equal(
    both.message,
    "Update failed:\n- Cannot update 'parent_id': field cannot be modified (task hierarchy is fixed)\n- Cannot update 'user_id': field cannot be modified (task ownership is fixed)",
  );
  assert.equal(
    (await ok<Json>('tasks.get', { task_id: 'a' })).name,
    'Renamed',
    'nothing changes when any field is refused',
  );

  const deps = await ok<Json>('tasks.update', { task_id: 'b', dependencies: [{ id: 'a', required: false }] });
  assert.deepEqual(deps.dependencies, [{ id: 'a', required: false, type: 'result' }]);
  const byName = await ok<Json>('tasks.update', { task_id: 'b', dependencies: ['Renamed'] });
  assert.deepEqual(
    byName.dependencies,
    [{ id: 'a', required: true, type: 'result' }],
    'a reference may be a name in the tree',
  );
  assert.equal(
    (await fails('tasks.update', { task_id: 'a', dependencies: [{ id: 'ghost' }] })).message,
    "Update failed:\n- Dependency reference 'ghost' not found in task tree",
  );
  const cycle = await fails('tasks.update', { task_id: 'a', dependencies: [{ id: 'b' }] });
  assert.equal(cycle.code, -32602);
  assert.match(cycle.message, /^Update failed:\n- Circular dependency detected: a -> b -> a/);
  assert.equal(
    (await fails('tasks.update', { task_id: 'a', dependencies: 'b' })).message,
    "Update failed:\n- Cannot update 'dependencies': must be a list",
  );
  assert.deepEqual(await fails('tasks.update', { task_id: 'nope', name: 'x' }), {
    code: -32004,
    message: 'Task nope not found',
  });
  assert.equal((await fails('tasks.update', { name: 'x' })).code, -32602);

  await ok('tasks.execute', { task_id: 'r' });
  assert.equal(
    (await fails('tasks.update', { task_id: 'b', dependencies: [] })).message,
    "Update failed:\n- Cannot update 'dependencies': task status is 'completed' (must be 'pending')",
  );
  const status = await ok<Json>('tasks.update', { task_id: 'b', status: 'failed', error: 'manual' });
  assert.deepEqual([status.status, status.error], ['failed', 'manual']);
});

test('tasks.delete removes a pending subtree and refuses otherwise', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', [
    { id: 'r', name: 'R', schemas: { method: 'noop' } },
    { id: 'p', name: 'P', parent_id: 'r', schemas: { method: 'noop' } },
    { id: 'q1', name: 'Q1', parent_id: 'p', schemas: { method: 'noop' } },
    { id: 'q2', name: 'Q2', parent_id: 'p', schemas: { method: 'noop' } },
    { id: 'd', name: 'D', parent_id: 'r', schemas: { method: 'noop' }, dependencies: [{ id: 'e' }] },
    { id: 'e', name: 'E', parent_id: 'r', schemas: { method: 'noop' } },
  ]);
  assert.deepEqual(await fails('tasks.delete', { task_id: 'e' }), {
    code: -32005,
    message: 'Cannot delete task: 1 tasks depend on this task: [d]',
  });
  assert.deepEqual(await ok('tasks.delete', { task_id: 'p' }), {
    success: true,
    task_id: 'p',
    deleted_count: 3,
    children_deleted: 2,
  });
  for (const id of ['p', 'q1', 'q2']) assert.equal(await ok('tasks.get', { task_id: id }), null);
  assert.deepEqual(await ok('tasks.delete', { id: 'd' }), {
    success: true,
    task_id: 'd',
    deleted_count: 1,
    children_deleted: 0,
  });
  assert.equal((await ok<Json>('tasks.get', { task_id: 'r' })).has_children, true, 'r still has e');
  assert.deepEqual(await ok('tasks.delete', { task_id: 'e' }), {
    success: true,
    task_id: 'e',
    deleted_count: 1,
    children_deleted: 0,
  });
  assert.equal((await ok<Json>('tasks.get', { task_id: 'r' })).has_children, false, 'its last child gone');
  assert.deepEqual(await fails('tasks.delete', { task_id: 'gone' }), { code: -32004, message: 'Task gone not found' });

  await ok('tasks.create', [
    { id: 'x', name: 'X', schemas: { method: 'noop' } },
    { id: 'y', name: 'Y', parent_id: 'x', schemas: { method: 'noop' } },
  ]);
  await ok('tasks.execute', { task_id: 'x' });
  assert.deepEqual(await fails('tasks.delete', { task_id: 'x' }), {
    code: -32005,
    message:
      "Cannot delete task: task has 1 non-pending children: [y: completed]; task status is 'completed' (must be 'pending')",
  });
  assert.notEqual(await ok('tasks.get', { task_id: 'y' }), null, 'nothing deleted');
});

test('tasks.delete and tasks.update refuse a pending task while its tree runs', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', [
    { id: 'r', name: 'R', schemas: { method: 'noop' } },
    { id: 'x', name: 'X', parent_id: 'r', schemas: { method: 'hang' } },
    { id: 'y', name: 'Y', parent_id: 'r', schemas: { method: 'noop' }, dependencies: [{ id: 'x' }] },
  ]);
  const run = ok<Json>('tasks.execute', { task_id: 'r' });
  await eventually(async () => (await ok<Json>('tasks.get', { task_id: 'x' })).status === 'in_progress');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'y' })).status, 'pending');
  assert.deepEqual(await fails('tasks.delete', { task_id: 'y' }), {
    code: -32005,
    message: 'Cannot delete task: its task tree is running',
  });
  assert.deepEqual(await fails('tasks.update', { task_id: 'y', name: 'Z' }), {
    code: -32005,
    message: 'Task y cannot be updated while its tree is running',
  });
  assert.deepEqual(await ok('tasks.cancel', { task_ids: ['r'] }), [
    { task_id: 'r', status: 'cancelled', message: 'Cancelled by user', force: false },
  ]);
  assert.equal((await run).status, 'cancelled');
  const tree = await ok<Json>('tasks.tree', { task_id: 'y' });
  assert.deepEqual(ids(tree.children as Json[]), ['x', 'y'], 'y was not deleted under the engine');
});

test('tasks.copy saves a fresh pending copy, or answers it unsaved', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', tree3());
  await ok('tasks.execute', { task_id: 'r' });
  const copy = await ok<Json>('tasks.copy', { task_id: 'r' });
  assert.notEqual(copy.id, 'r');
  assert.deepEqual([copy.name, copy.status, copy.original_task_id, copy.result], ['R', 'pending', 'r', null]);
  assert.deepEqual(await ok<Json>('tasks.get', { task_id: copy.id }).then((row) => row.status), 'pending', 'saved');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'r' })).has_copy, true);
  assert.deepEqual((await ok<Json[]>('tasks.list', {})).length, 2);

  const unsaved = await ok<{ tasks: Json[]; saved: boolean }>('tasks.copy', { task_id: 'r', save: false });
  assert.equal(unsaved.saved, false);
  assert.deepEqual(Object.keys(unsaved).sort(), ['saved', 'tasks']);
  assert.deepEqual(
    unsaved.tasks.map((task) => [task.name, task.original_task_id]),
    [
      ['R', 'r'],
      ['A', 'a'],
      ['B', 'b'],
    ],
  );
  assert.equal(await ok('tasks.get', { task_id: unsaved.tasks[0]?.id }), null, 'not saved');
  assert.equal((await ok<Json[]>('tasks.list', {})).length, 2);
  assert.deepEqual(await fails('tasks.copy', { task_id: 'x' }), { code: -32004, message: 'Task x not found' });
});
