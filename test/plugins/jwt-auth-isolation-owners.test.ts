import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { type Json, resultOf, world, type World, taskIds } from './jwt-auth-isolation-setup.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

/** What alice may do on her own tree, and the administrator on alice's. */
async function actsOnAlicesTree(w: World, who: 'alice' | 'root') {
  const { tree, kid, executed, hang, a2aDone, a2aWaiting } = w.ids;
  for (const id of taskIds(w)) {
    for (const method of ['tasks.get', 'tasks.detail'])
      assert.equal(resultOf<Json>(await w.tasks(who, method, { task_id: id }), `${who} ${method}`).user_id, 'alice');
    const status = await w.getJson(who, `/tasks/${id}/status`);
    assert.equal(status.status, 200, `${who} GET /tasks/${id}/status`);
    assert.equal((status.body as Json).task_id, id);
    assert.equal(
      resultOf<Json[]>(await w.tasks(who, 'tasks.running.status', { task_ids: [id] }), 'running.status')[0]?.status ===
        'not_found',
      false,
    );
  }
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.tree', { task_id: kid }), 'tree').id, tree);
  assert.deepEqual(
    resultOf<Json[]>(await w.tasks(who, 'tasks.children', { parent_id: tree }), 'children').map((row) => row.id),
    [kid],
  );
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.update', { task_id: kid, name: `renamed by ${who}` }), 'update').name,
    `renamed by ${who}`,
  );

  // Listings hold alice's trees.
  const aliceRoots = [tree, executed, hang, w.ids.a2aRoot].sort();
  const listed = (rows: unknown) => (rows as { id: string }[]).map((row) => row.id);
  assert.deepEqual(
    listed(resultOf(await w.tasks(who, 'tasks.list', { user_id: 'alice' }), 'list alice')).sort(),
    aliceRoots,
  );
  const all = listed(resultOf(await w.tasks(who, 'tasks.list', {}), 'list'));
  for (const id of aliceRoots) assert.ok(all.includes(id), `${who} tasks.list holds ${id}`);
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.count', { user_id: 'alice', root_only: true }), 'count').total,
    4,
  );
  for (const id of aliceRoots)
    assert.ok(listed((await w.getJson(who, '/tasks')).body).includes(id), `${who} GET /tasks holds ${id}`);
  assert.deepEqual(listed((await w.getJson(who, '/tasks?user_id=alice')).body).sort(), aliceRoots);
  assert.deepEqual(listed(resultOf(await w.tasks(who, 'tasks.running.list', {}), 'running.list')), [hang]);
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.running.count', {}), 'running.count').count, 1);
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.running.count', { user_id: 'alice' }), 'running.count alice').count,
    1,
  );
  const a2aListed = resultOf<{ tasks: { id: string }[] }>(await w.a2a(who, 'ListTasks', {}), 'ListTasks').tasks.map(
    (task) => task.id,
  );
  assert.deepEqual(a2aListed.sort(), [a2aDone, a2aWaiting].sort());

  // Copy, execute, stream.
  const copy = resultOf<{ id: string; user_id: string; original_task_id: string }>(
    await w.tasks(who, 'tasks.copy', { task_id: tree }),
    'copy',
  );
  assert.equal(copy.original_task_id, tree);
  assert.equal(copy.user_id, who, 'a copy belongs to who made it (an administrator names another owner with user_id)');
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.delete', { task_id: copy.id }), 'delete').success, true);
  assert.equal(resultOf(await w.tasks('alice', 'tasks.get', { task_id: copy.id }), 'get deleted'), null);
  const ran = resultOf<Json>(await w.tasks(who, 'tasks.execute', { task_id: tree }), 'execute');
  assert.equal(ran.status, 'completed');
  const streamed = await w.sse(who, kid);
  assert.equal(streamed.status, 200);
  assert.equal(
    streamed.events.filter((event) => event.type === 'final').length,
    1,
    `${who} streams alice's tree to its final event`,
  );
  assert.deepEqual(streamed.events.at(-1), { type: 'stream_end', task_id: tree });

  // A2A.
  assert.equal(resultOf<{ id: string }>(await w.a2a(who, 'GetTask', { id: a2aDone }), 'GetTask').id, a2aDone);
  assert.equal(
    resultOf<{ status: { state: string } }>(await w.a2a(who, 'CancelTask', { id: a2aWaiting }), 'CancelTask').status
      .state,
    'TASK_STATE_CANCELED',
  );

  // Cancel the running tree while streaming it.
  const live = w.sse(who, hang);
  const cancelled = resultOf<Json[]>(await w.tasks(who, 'tasks.cancel', { task_ids: [hang] }), 'cancel');
  assert.equal(cancelled[0]?.task_id, hang);
  await eventually(
    async () => resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: hang }), 'get').status === 'cancelled',
  );
  assert.deepEqual(resultOf(await w.tasks(who, 'tasks.running.list', {}), 'running.list'), []);
  const streamedLive = await live;
  assert.equal(streamedLive.status, 200);
  assert.equal(
    streamedLive.events.find((event) => event.type === 'final')?.status,
    'cancelled',
    `${who} streams alice's running tree to its end`,
  );

  // Creating for alice by name.
  const forAlice = resultOf<Json>(
    await w.tasks(who, 'tasks.create', [{ name: 'named', user_id: 'alice', schemas: { method: 'noop' } }]),
    'create for alice',
  );
  assert.equal(forAlice.user_id, 'alice');
}

test('alice does everything on her own tree', async (t) => {
  const w = await world(t);
  await actsOnAlicesTree(w, 'alice');
});

test("an administrator (root) does everything on alice's tree and sees everyone's tasks", async (t) => {
  const w = await world(t);
  const bobTree = resultOf<{ id: string }>(
    await w.tasks('bob', 'tasks.create', [{ name: 'b-root', schemas: { method: 'noop' } }]),
    'bob create',
  ).id;
  assert.ok(
    resultOf<{ id: string }[]>(await w.tasks('root', 'tasks.list', {}), 'root list').some((row) => row.id === bobTree),
    "root sees bob's tree too",
  );
  const count = resultOf<Json>(await w.tasks('root', 'tasks.count', { root_only: true }), 'root count');
  assert.equal(count.total, 5, 'every root of every user');
  assert.equal(count.user_id, undefined);
  await actsOnAlicesTree(w, 'root');
});
