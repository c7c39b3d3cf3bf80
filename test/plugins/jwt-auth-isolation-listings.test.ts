import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Json, resultOf, errorOf, world } from './jwt-auth-isolation-setup.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

test("bob's listings never hold alice's tasks; naming alice is forbidden (-32003); system.health does not count alice's running trees for bob", async (t) => {
  const w = await world(t);
  const bobTree = resultOf<{ id: string; user_id: string }>(
    await w.tasks('bob', 'tasks.create', [{ name: 'b-root', schemas: { method: 'noop' } }]),
    'bob create',
  );
  assert.equal(bobTree.user_id, 'bob');
  const bobA2a = resultOf<{ task: { id: string } }>(
    await w.a2a('bob', 'SendMessage', w.message([{ text: 'bob here' }])),
    'bob A2A',
  ).task.id;

  const ids = (rows: unknown) => (rows as { id: string }[]).map((row) => row.id);
  const owners = (rows: unknown) => [...new Set((rows as { user_id: string }[]).map((row) => row.user_id))];
  assert.deepEqual(ids(resultOf(await w.tasks('bob', 'tasks.list', {}), 'list')), [bobTree.id]);
  assert.deepEqual(
    owners(resultOf(await w.tasks('bob', 'tasks.list', { root_only: false, limit: 1000 }), 'list all')),
    ['bob'],
  );
  const count = resultOf<Json>(await w.tasks('bob', 'tasks.count', {}), 'count');
  assert.equal(count.total, 1);
  assert.equal(count.user_id, 'bob');
  assert.equal(resultOf<Json>(await w.tasks('bob', 'tasks.count', { root_only: true }), 'count roots').total, 1);
  assert.deepEqual(resultOf(await w.tasks('bob', 'tasks.running.list', {}), 'running.list'), []);
  assert.deepEqual(resultOf(await w.tasks('bob', 'tasks.running.count', {}), 'running.count'), {
    count: 0,
    user_id: 'bob',
  });
  const rest = await w.getJson('bob', '/tasks');
  assert.equal(rest.status, 200);
  assert.deepEqual(ids(rest.body), [bobTree.id]);
  assert.deepEqual(owners((await w.getJson('bob', '/tasks?root_only=false&limit=1000')).body), ['bob']);
  assert.deepEqual(
    ids((await w.getJson('bob', '/tasks?status=in_progress')).body),
    [],
    "alice's running tree is not listed",
  );
  const listed = resultOf<{ tasks: { id: string }[]; totalSize: number }>(
    await w.a2a('bob', 'ListTasks', {}),
    'ListTasks',
  );
  assert.deepEqual(
    listed.tasks.map((task) => task.id),
    [bobA2a],
  );
  assert.equal(listed.totalSize, 1);

  // Asking for alice's by name.
  for (const [method, params] of [
    ['tasks.list', { user_id: 'alice' }],
    ['tasks.count', { user_id: 'alice' }],
    ['tasks.running.list', { user_id: 'alice' }],
    ['tasks.running.count', { user_id: 'alice' }],
    ['tasks.create', [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }]],
    ['tasks.create', { tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }] }],
    ['tasks.execute', { tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }] }],
  ] as [string, unknown][]) {
    errorOf(await w.tasks('bob', method, params), -32003, `bob ${method} ${JSON.stringify(params)}`);
  }
  errorOf(
    await w.call('bob', '/', 'execute_task_tree', {
      tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }],
    }),
    -32003,
    'bob execute_task_tree for alice',
  );
  const named = await w.getJson('bob', '/tasks?user_id=alice');
  assert.equal(named.status, 403, `bob GET /tasks?user_id=alice: ${JSON.stringify(named.body)}`);
  assert.equal((named.body as { error: { code: string } }).error.code, 'APF_FORBIDDEN');
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.count', { root_only: true }), 'alice count').total,
    4,
    'nothing was created for alice',
  );

  // system.health: alice's tree is the only one running; what bob is told must not count it.
  const health = resultOf<Json>(await w.call('bob', '/system', 'system.health'), 'bob system.health');
  const rootHealth = resultOf<Json>(await w.call('root', '/system', 'system.health'), 'root system.health');
  assert.equal(rootHealth.running_tasks_count, 1, 'the administrator sees the running tree');
  assert.deepEqual(rootHealth.tasks, { running: 1, trees: 1 });
  assert.equal(
    health.running_tasks_count,
    0,
    `bob's system.health running_tasks_count counts alice's running trees: ${JSON.stringify(health)}`,
  );
  assert.deepEqual(
    health.tasks,
    { running: 0, trees: 0 },
    `bob's system.health 'tasks' counts alice's running tasks: ${JSON.stringify(health.tasks)}`,
  );
});
