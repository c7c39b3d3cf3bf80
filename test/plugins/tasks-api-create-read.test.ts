import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc, sleep } from '../helpers.ts';
import { type Json, TASK_KEYS, server, tree3, ids } from './tasks-api-setup.ts';

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
    input_required: 0,
    completed: 2,
    failed: 0,
    cancelled: 0,
  });
  assert.deepEqual(await ok('tasks.count', { user_id: 'u2' }), {
    total: 2,
    pending: 2,
    in_progress: 0,
    input_required: 0,
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
