import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, repoRoot, rpc, sleep, testApp } from '../helpers.ts';

type Json = Record<string, unknown>;
interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** Every key a task dict has (reference/original-apflow.md §1), in no particular order. */
const TASK_KEYS = [
  'completed_at',
  'created_at',
  'dependencies',
  'error',
  'has_children',
  'has_copy',
  'id',
  'inputs',
  'name',
  'original_task_id',
  'params',
  'parent_id',
  'priority',
  'progress',
  'result',
  'schemas',
  'started_at',
  'status',
  'updated_at',
  'user_id',
].sort();

/** A real server on 127.0.0.1 with the fixture executors, and JSON-RPC callers for it. */
async function server(t: TestContext) {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  let next = 0;
  /** Calls `method` and returns the whole answer, checking the envelope. */
  const call = async (method: string, params?: unknown, path = '/tasks') => {
    const id = `req-${++next}`;
    const response = await rpc(url, path, { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    assert.equal(response.status, 200, `${method} answered HTTP ${response.status}`);
    const body = response.body as Json;
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, id);
    return body;
  };
  /** The result of a call that must succeed. */
  const ok = async <T = Json>(method: string, params?: unknown, path?: string): Promise<T> => {
    const body = await call(method, params, path);
    assert.equal(body.error, undefined, `${method} failed: ${JSON.stringify(body.error)}`);
    assert.ok('result' in body);
    return body.result as T;
  };
  /** The error of a call that must fail. */
  const fails = async (method: string, params?: unknown, path?: string): Promise<RpcError> => {
    const body = await call(method, params, path);
    assert.equal(body.result, undefined, `${method} should have failed: ${JSON.stringify(body.result)}`);
    return body.error as RpcError;
  };
  return { app, url, call, ok, fails };
}

/** A three-task tree: root r (echo) with children a (noop) and b (echo, depends on a), all of user u1. */
const tree3 = (prefix = '') => [
  { id: `${prefix}r`, name: `${prefix}R`, user_id: 'u1', schemas: { method: 'echo' }, inputs: { x: 1 } },
  { id: `${prefix}a`, name: `${prefix}A`, parent_id: `${prefix}r`, user_id: 'u1', schemas: { method: 'noop' } },
  {
    id: `${prefix}b`,
    name: `${prefix}B`,
    parent_id: `${prefix}r`,
    user_id: 'u1',
    schemas: { method: 'echo' },
    dependencies: [{ id: `${prefix}a`, required: true }],
    inputs: { y: 2 },
    priority: 2,
  },
];

const ids = (tasks: Json[]) => tasks.map((task) => task.id);

test('tasks.create takes an array, {tasks: [...]} or one object; it creates only, and answers the nested tree', async (t) => {
  const { ok, fails } = await server(t);
  const tree = await ok<Json>('tasks.create', tree3());
  assert.deepEqual(
    Object.keys(tree)
      .filter((key) => key !== 'children')
      .sort(),
    TASK_KEYS,
  );
  assert.equal(tree.id, 'r');
  assert.equal(tree.parent_id, null);
  assert.equal(tree.user_id, 'u1');
  assert.equal(tree.status, 'pending');
  assert.equal(tree.has_children, true);
  assert.deepEqual(tree.inputs, { x: 1 });
  const children = tree.children as Json[];
  assert.deepEqual(
    children.map((child) => [child.id, child.parent_id, child.status]),
    [
      ['a', 'r', 'pending'],
      ['b', 'r', 'pending'],
    ],
  );
  assert.deepEqual((children[1] as Json).dependencies, [{ id: 'a', required: true, type: 'result' }]);
  assert.equal((children[1] as Json).priority, 2);

  const wrapped = await ok<Json>('tasks.create', { tasks: [{ id: 'w', name: 'W', schemas: { method: 'noop' } }] });
  assert.equal(wrapped.id, 'w');
  assert.equal(wrapped.children, undefined);
  const single = await ok<Json>('tasks.create', { id: 's', name: 'S', user_id: 'u2', inputs: { k: 'v' } });
  assert.deepEqual([single.id, single.user_id, single.status, single.inputs], ['s', 'u2', 'pending', { k: 'v' }]);

  await sleep(50);
  for (const id of ['r', 'a', 'b', 'w', 's']) {
    const task = await ok<Json>('tasks.get', { task_id: id });
    assert.equal(task.status, 'pending', `${id} must stay pending: create does not run`);
    assert.equal(task.started_at, null);
  }

  const mixed = await fails('tasks.create', [
    { id: 'm1', name: 'M1', user_id: 'u1' },
    { id: 'm2', name: 'M2', parent_id: 'm1', user_id: 'u2' },
  ]);
  assert.equal(mixed.code, -32602);
  assert.match(mixed.message, /^All tasks must have the same user_id. Found multiple user_ids: u1, u2$/);
  const empty = await fails('tasks.create', []);
  assert.equal(empty.code, -32602);
  assert.equal(empty.message, 'Tasks array cannot be empty');
  // The original silently gives a task whose id is taken a fresh one (reference §2.1 step 7).
  const taken = await ok<Json>('tasks.create', [{ id: 'r', name: 'again' }]);
  assert.notEqual(taken.id, 'r');
  assert.equal(taken.name, 'again');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'r' })).name, 'R');
  assert.equal(await ok('tasks.get', { task_id: 'm1' }), null, 'a refused tree stores nothing');
});

test("the guide's tasks.create payload, verbatim, with a real task in place of [...]", async (t) => {
  const { url, ok } = await server(t);
  const response = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    method: 'tasks.create',
    params: { tasks: [{ id: 'task1', name: 'my_task', user_id: 'user123', inputs: { key: 'value' } }] },
    id: 'request-123',
  });
  assert.equal(response.status, 200);
  const body = response.body as { jsonrpc: string; id: string; result: Json };
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, 'request-123');
  assert.deepEqual(
    [body.result.id, body.result.name, body.result.user_id, body.result.status],
    ['task1', 'my_task', 'user123', 'pending'],
  );
  assert.deepEqual(body.result.inputs, { key: 'value' });
  assert.equal((await ok<Json>('tasks.get', { id: 'task1' })).name, 'my_task');
});

test('tasks.get, tasks.detail, tasks.tree and tasks.children', async (t) => {
  const { ok, fails } = await server(t);
  await ok('tasks.create', tree3());

  const got = await ok<Json>('tasks.get', { task_id: 'b' });
  assert.deepEqual(Object.keys(got).sort(), TASK_KEYS, 'get answers the task dict without children');
  assert.deepEqual([got.id, got.parent_id, got.name], ['b', 'r', 'B']);
  assert.deepEqual(await ok('tasks.get', { id: 'b' }), got, "'id' is an alias of task_id");
  assert.equal(await ok('tasks.get', { task_id: 'nope' }), null);
  const missing = await fails('tasks.get', {});
  assert.deepEqual(missing, {
    code: -32602,
    message: "Task ID is required. Please provide 'task_id' or 'id' parameter.",
  });

  assert.deepEqual(await ok('tasks.detail', { task_id: 'b' }), got);
  assert.equal(await ok('tasks.detail', { task_id: 'nope' }), null);
  assert.equal((await fails('tasks.detail', { id: 'b' })).code, -32602, 'detail has no id alias');

  for (const params of [{ task_id: 'r' }, { task_id: 'b' }, { root_id: 'a' }, { root_id: 'r' }]) {
    const tree = await ok<Json>('tasks.tree', params);
    assert.equal(tree.id, 'r', JSON.stringify(params));
    assert.deepEqual(ids(tree.children as Json[]), ['a', 'b']);
  }
  assert.deepEqual(await fails('tasks.tree', { task_id: 'x' }), { code: -32004, message: 'Task x not found' });
  assert.equal((await fails('tasks.tree', {})).code, -32602);

  const children = await ok<Json[]>('tasks.children', { parent_id: 'r' });
  assert.deepEqual(ids(children), ['a', 'b'], 'by priority');
  assert.equal(
    children.every((child) => !('children' in child)),
    true,
    'flat',
  );
  assert.deepEqual(await ok('tasks.children', { task_id: 'r' }), children);
  assert.deepEqual(await ok('tasks.children', { parent_id: 'a' }), []);
  assert.deepEqual(await fails('tasks.children', { parent_id: 'x' }), {
    code: -32004,
    message: 'Parent task x not found',
  });
  assert.equal((await fails('tasks.children', {})).code, -32602);
});

test('tasks.list filters by user and status, roots only by default, pages newest first; tasks.count counts', async (t) => {
  const { ok, fails } = await server(t);
  for (const [i, user] of ['u1', 'u1', 'u2'].entries()) {
    await ok('tasks.create', [
      { id: `t${i}`, name: `T${i}`, user_id: user, schemas: { method: 'noop' } },
      { id: `t${i}c`, name: `C${i}`, parent_id: `t${i}`, user_id: user, schemas: { method: 'noop' } },
    ]);
    await sleep(5);
  }
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', {})), ['t2', 't1', 't0']);
  assert.deepEqual(ids(await ok<Json[]>('tasks.list')), ['t2', 't1', 't0'], 'params may be left out');
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { user_id: 'u1' })), ['t1', 't0']);
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { limit: 1 })), ['t2']);
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { limit: 1, offset: 1 })), ['t1']);
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { offset: 3 })), []);
  const all = await ok<Json[]>('tasks.list', { root_only: false });
  assert.equal(all.length, 6);
  assert.deepEqual(new Set(ids(all)), new Set(['t0', 't0c', 't1', 't1c', 't2', 't2c']));
  const listed = (await ok<Json[]>('tasks.list', {}))[0] as Json;
  assert.deepEqual(Object.keys(listed).sort(), TASK_KEYS);
  assert.equal(listed.has_children, true);

  const { result } = await ok<{ result: unknown }>('tasks.execute', { task_id: 't0' });
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { status: 'completed' })), ['t0']);
  assert.deepEqual(ids(await ok<Json[]>('tasks.list', { status: 'pending', user_id: 'u1' })), ['t1']);

  assert.deepEqual(await ok('tasks.count', {}), {
    total: 6,
    pending: 4,
    in_progress: 0,
    completed: 2,
    failed: 0,
    cancelled: 0,
  });
  assert.deepEqual(await ok('tasks.count', { user_id: 'u2' }), {
    total: 2,
    pending: 2,
    in_progress: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    user_id: 'u2',
  });

  const mistyped = await fails('tasks.list', { limit: 'ten' });
  assert.equal(mistyped.code, -32602);
  assert.match(mistyped.message, /params\.limit/);
  assert.match((await fails('tasks.list', { status: 'bogus' })).message, /params\.status/);
  assert.match((await fails('tasks.list', { root_only: 'yes' })).message, /params\.root_only/);
  assert.match((await fails('tasks.get', { task_id: 7 })).message, /params\.task_id/);
});

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
    completed: 0,
    failed: 0,
    cancelled: 2,
  });
});

test("POST / execute_task_tree: the guide's payload verbatim fails naming the executors; with an executor it completes", async (t) => {
  const { url } = await server(t);
  const guide = await rpc(url, '/', {
    jsonrpc: '2.0',
    method: 'execute_task_tree',
    params: { tasks: [{ id: 'task1', name: 'my_task', user_id: 'user123', inputs: { key: 'value' } }] },
    id: 'request-123',
  });
  assert.equal(guide.status, 200);
  const body = guide.body as { jsonrpc: string; id: string; result: Json };
  assert.equal(body.id, 'request-123');
  assert.deepEqual([body.result.status, body.result.root_task_id, body.result.progress], ['failed', 'task1', 0]);
  assert.match(String(body.result.error), /^No executor for task 'my_task'/);
  assert.match(String(body.result.error), /registered executors: .*\becho\b.*\bhang\b.*\bnoop\b/);

  const echo = await rpc(url, '/', {
    jsonrpc: '2.0',
    method: 'execute_task_tree',
    params: {
      tasks: [
        { id: 'task2', name: 'my_task', user_id: 'user123', schemas: { method: 'echo' }, inputs: { key: 'value' } },
      ],
    },
    id: 'request-124',
  });
  assert.deepEqual(echo.body, {
    jsonrpc: '2.0',
    id: 'request-124',
    result: { status: 'completed', progress: 1, root_task_id: 'task2', result: { key: 'value' } },
  });
  const stored = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.get', params: { task_id: 'task2' } });
  assert.equal((stored.body as { result: Json }).result.status, 'completed');
  const empty = await rpc(url, '/', { jsonrpc: '2.0', id: 3, method: 'execute_task_tree', params: { tasks: [] } });
  assert.equal((empty.body as { error: RpcError }).error.code, -32602);
});

test('GET /tasks/{id}/status and GET /tasks?user_id=', async (t) => {
  const { url, ok } = await server(t);
  await ok('tasks.create', [{ id: 'one', name: 'One', user_id: 'user123', schemas: { method: 'noop' } }]);
  await sleep(5);
  await ok('tasks.create', [{ id: 'two', name: 'Two', user_id: 'user123', schemas: { method: 'noop' } }]);
  await ok('tasks.create', [{ id: 'other', name: 'Other', user_id: 'someone', schemas: { method: 'noop' } }]);
  await ok('tasks.execute', { task_id: 'one' });

  const status = await fetch(`${url}/tasks/one/status`);
  assert.equal(status.status, 200);
  assert.match(status.headers.get('content-type') ?? '', /application\/json/);
  const shape = (await status.json()) as Json;
  assert.deepEqual(Object.keys(shape).sort(), [
    'completed_at',
    'error',
    'is_running',
    'name',
    'progress',
    'root_task_id',
    'started_at',
    'status',
    'task_id',
    'updated_at',
  ]);
  assert.deepEqual(
    [shape.task_id, shape.root_task_id, shape.name, shape.status, shape.progress, shape.error, shape.is_running],
    ['one', 'one', 'One', 'completed', 1, null, false],
  );

  const unknown = await fetch(`${url}/tasks/ghost/status`);
  assert.equal(unknown.status, 404);
  const unknownBody = (await unknown.json()) as { error: { code: string; message: string } };
  assert.equal(unknownBody.error.code, 'APF_NOT_FOUND');
  assert.match(unknownBody.error.message, /ghost/);

  const listed = await fetch(`${url}/tasks?user_id=user123`);
  assert.equal(listed.status, 200);
  const rows = (await listed.json()) as Json[];
  assert.ok(Array.isArray(rows));
  assert.deepEqual(ids(rows), ['two', 'one']);
  assert.deepEqual(Object.keys(rows[0] as Json).sort(), TASK_KEYS);
  assert.deepEqual(ids((await (await fetch(`${url}/tasks?user_id=user123&status=completed`)).json()) as Json[]), [
    'one',
  ]);
  assert.deepEqual(ids((await (await fetch(`${url}/tasks?limit=1&offset=1`)).json()) as Json[]).length, 1);

  for (const bad of ['limit=ten', 'limit=0', 'limit=1.5']) {
    const response = await fetch(`${url}/tasks?user_id=user123&${bad}`);
    assert.equal(response.status, 400, bad);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'APF_INVALID_PARAMS');
    assert.match(error.message, /limit/);
  }
  const badStatus = await fetch(`${url}/tasks?status=bogus`);
  assert.equal(badStatus.status, 400);
});

test('a batch mixing methods is answered in order; unknown methods and bad params stay per call', async (t) => {
  const { url, ok } = await server(t);
  await ok('tasks.create', [{ id: 'k', name: 'K', user_id: 'u1', schemas: { method: 'echo' }, inputs: { v: 1 } }]);
  const response = await rpc(url, '/tasks', [
    { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: [{ id: 'm', name: 'M', user_id: 'u1' }] },
    { jsonrpc: '2.0', id: 2, method: 'tasks.get', params: { task_id: 'k' } },
    { jsonrpc: '2.0', id: 3, method: 'tasks.execute', params: { task_id: 'k' } },
    { jsonrpc: '2.0', id: 4, method: 'tasks.nope' },
    { jsonrpc: '2.0', id: 5, method: 'tasks.list', params: { limit: 'ten' } },
    { jsonrpc: '2.0', id: 6, method: 'tasks.count', params: { user_id: 'u9' } },
  ]);
  assert.equal(response.status, 200);
  const answers = response.body as unknown as { id: number; result?: Json; error?: RpcError }[];
  assert.deepEqual(
    answers.map((answer) => answer.id),
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(answers[0]?.result?.id, 'm');
  assert.equal(answers[1]?.result?.id, 'k');
  assert.deepEqual([answers[2]?.result?.status, answers[2]?.result?.result], ['completed', { v: 1 }]);
  assert.deepEqual(answers[3]?.error, {
    code: -32601,
    message: 'Method not found',
    data: 'Unknown method on /tasks: tasks.nope',
  });
  assert.equal(answers[4]?.error?.code, -32602);
  assert.match(String(answers[4]?.error?.message), /params\.limit/);
  assert.deepEqual(answers[5]?.result, {
    total: 0,
    pending: 0,
    in_progress: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    user_id: 'u9',
  });
});
