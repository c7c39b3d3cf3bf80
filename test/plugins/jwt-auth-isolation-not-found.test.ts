import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually, httpReceiver } from '../helpers.ts';
import {
  type Json,
  type Envelope,
  withoutId,
  swapped,
  resultOf,
  errorOf,
  world,
  taskIds,
} from './jwt-auth-isolation-setup.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

test("tasks are stamped with the token's user; bob gets for alice's tasks exactly what an unknown id gets, on every method and route", async (t) => {
  const w = await world(t);
  // Stamping: tasks.create, execute_task_tree and A2A all made alice's tasks.
  for (const id of taskIds(w))
    assert.equal(
      resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: id }), 'alice get').user_id,
      'alice',
      `owner of ${id}`,
    );
  const treeBefore = await w.tasks('alice', 'tasks.tree', { task_id: w.ids.tree });
  const countBefore = await w.tasks('alice', 'tasks.count', {});

  const ghost = `ghost-${randomUUID()}`;
  const cases: [string, (id: string) => Json, (answer: Envelope, id: string) => void][] = [
    ['tasks.get', (id) => ({ task_id: id }), (a) => assert.equal(resultOf(a, 'get'), null)],
    ['tasks.get', (id) => ({ id }), (a) => assert.equal(resultOf(a, 'get'), null)],
    ['tasks.detail', (id) => ({ task_id: id }), (a) => assert.equal(resultOf(a, 'detail'), null)],
    [
      'tasks.tree',
      (id) => ({ task_id: id }),
      (a, id) => assert.equal(errorOf(a, -32004, 'tree').message, `Task ${id} not found`),
    ],
    ['tasks.tree', (id) => ({ root_id: id }), (a) => errorOf(a, -32004, 'tree')],
    ['tasks.children', (id) => ({ parent_id: id }), (a) => errorOf(a, -32004, 'children')],
    ['tasks.children', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'children')],
    ['tasks.update', (id) => ({ task_id: id, name: 'bob was here' }), (a) => errorOf(a, -32004, 'update')],
    ['tasks.update', (id) => ({ task_id: id, status: 'completed' }), (a) => errorOf(a, -32004, 'update')],
    ['tasks.delete', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'delete')],
    ['tasks.copy', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'copy')],
    ['tasks.copy', (id) => ({ task_id: id, copy_mode: 'full', save: false }), (a) => errorOf(a, -32004, 'copy')],
    ['tasks.execute', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'execute')],
    ['tasks.execute', (id) => ({ task_id: id, copy_execution: true }), (a) => errorOf(a, -32004, 'execute copy')],
    ['tasks.execute', (id) => ({ task_id: id, use_streaming: true }), (a) => errorOf(a, -32004, 'execute streaming')],
    [
      'tasks.cancel',
      (id) => ({ task_ids: [id] }),
      (a, id) => assert.equal(resultOf<Json[]>(a, 'cancel')[0]?.task_id, id),
    ],
    [
      'tasks.cancel',
      (id) => ({ task_ids: id, force: true }),
      (a) => assert.equal(resultOf<Json[]>(a, 'cancel').length, 1),
    ],
    [
      'tasks.running.cancel',
      (id) => ({ task_ids: [id] }),
      (a) => assert.equal(resultOf<Json[]>(a, 'running.cancel').length, 1),
    ],
    [
      'tasks.running.status',
      (id) => ({ task_ids: [id] }),
      (a, id) =>
        assert.deepEqual(resultOf(a, 'running.status'), [{ task_id: id, context_id: id, status: 'not_found' }]),
    ],
  ];
  for (const id of taskIds(w)) {
    for (const [method, params, expect] of cases) {
      const what = `bob ${method} ${JSON.stringify(params(id))}`;
      const theirs = await w.tasks('bob', method, params(id));
      const unknown = await w.tasks('bob', method, params(ghost));
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(unknown, id, ghost),
        `${what}: same answer as for an unknown id`,
      );
      expect(theirs, id);
    }
    for (const path of [`/tasks/${id}/status`, `/tasks/${id}/events`]) {
      const theirs = await w.getJson('bob', path);
      const unknown = await w.getJson('bob', path.replace(id, ghost));
      assert.equal(theirs.status, 404, `bob GET ${path}`);
      assert.deepEqual(
        theirs,
        JSON.parse(JSON.stringify(unknown).replaceAll(ghost, id)),
        `bob GET ${path}: same as an unknown id`,
      );
    }
    const streamed = await w.sse('bob', id);
    assert.equal(streamed.status, 404, `bob SSE ${id}`);
    assert.deepEqual(streamed.events, []);
  }

  // A2A: alice's A2A tasks are not found for bob (-32001), like unknown ones.
  const a2aCases: [string, (id: string) => Json][] = [
    ['GetTask', (id) => ({ id })],
    ['CancelTask', (id) => ({ id })],
    [
      'SendMessage',
      (id) => ({ message: { messageId: 'm-bob', role: 'ROLE_USER', parts: [{ text: 'let me in' }], taskId: id } }),
    ],
    ['CreateTaskPushNotificationConfig', (id) => ({ taskId: id, url: 'https://example.com/hook' })],
    ['ListTaskPushNotificationConfigs', (id) => ({ taskId: id })],
  ];
  for (const id of [w.ids.a2aDone, w.ids.a2aWaiting]) {
    for (const [method, params] of a2aCases) {
      const theirs = await w.a2a('bob', method, params(id));
      const unknown = await w.a2a('bob', method, params(ghost));
      errorOf(theirs, -32001, `bob A2A ${method} ${id}`);
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(unknown, id, ghost),
        `bob A2A ${method}: same answer as for an unknown id`,
      );
    }
  }
  // An A2A message asking for a tasks API operation runs it as bob.
  for (const [method, params] of [
    ['tasks.get', { task_id: w.ids.tree }],
    ['tasks.tree', { task_id: w.ids.tree }],
    ['tasks.list', {}],
  ] as [string, Json][]) {
    const answer = await w.a2a('bob', 'SendMessage', w.message([{ data: params }], { metadata: { method } }));
    if (method === 'tasks.tree') {
      const ghostly = await w.a2a(
        'bob',
        'SendMessage',
        w.message([{ data: { task_id: ghost } }], { metadata: { method } }),
      );
      assert.match(errorOf(answer, -32602, 'bob A2A tasks.tree').message, /not found/);
      assert.deepEqual(
        swapped(answer, w.ids.tree, ghost),
        swapped(ghostly, w.ids.tree, ghost),
        `bob A2A tasks.tree: same as an unknown id`,
      );
      continue;
    }
    const data = resultOf<{ message: { parts: { data: Json }[] } }>(answer, `bob A2A ${method}`).message.parts[0]?.data;
    if (method === 'tasks.get')
      assert.equal(data?.result, null, `bob A2A tasks.get of alice's task: ${JSON.stringify(answer)}`);
    if (method === 'tasks.list') assert.deepEqual(data?.result, [], `bob A2A tasks.list: ${JSON.stringify(answer)}`);
  }

  // Nothing bob did changed alice's things.
  assert.deepEqual(
    withoutId(await w.tasks('alice', 'tasks.tree', { task_id: w.ids.tree })),
    withoutId(treeBefore),
    "alice's pending tree is untouched",
  );
  assert.deepEqual(
    withoutId(await w.tasks('alice', 'tasks.count', {})),
    withoutId(countBefore),
    'no copies, no deletions',
  );
  const hang = resultOf<Json[]>(
    await w.tasks('alice', 'tasks.running.status', { task_ids: [w.ids.hang] }),
    'running.status',
  )[0];
  assert.equal(hang?.status, 'in_progress', "alice's running tree was not cancelled");
  assert.equal(hang?.is_running, true);
  assert.equal(
    resultOf<{ status: { state: string } }>(await w.a2a('alice', 'GetTask', { id: w.ids.a2aWaiting }), 'GetTask').status
      .state,
    'TASK_STATE_INPUT_REQUIRED',
    "alice's A2A task was not cancelled",
  );
});

test("tasks.execute with webhook_config on alice's task as bob: the not-found error, no run and no webhook request", async (t) => {
  const w = await world(t);
  const hook = await httpReceiver(t);
  const ghost = `ghost-${randomUUID()}`;
  const replayed = async (id: string) =>
    (await w.sse('alice', id)).events.filter((event) => typeof event.seq === 'number').length;
  // (A finished tree's stream is replayed and ends; a pending one's would stay open.)
  const before = await replayed(w.ids.executed);
  for (const id of taskIds(w)) {
    for (const extra of [{}, { use_streaming: true }, { copy_execution: true }]) {
      const params = (x: string) => ({ task_id: x, webhook_config: { url: hook.url }, ...extra });
      const theirs = await w.tasks('bob', 'tasks.execute', params(id));
      errorOf(theirs, -32004, `bob tasks.execute ${JSON.stringify(params(id))}`);
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(await w.tasks('bob', 'tasks.execute', params(ghost)), id, ghost),
        'same as an unknown id',
      );
    }
  }
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: w.ids.tree }), 'get').status,
    'pending',
    'not run',
  );
  assert.equal(await replayed(w.ids.executed), before, "no new run of alice's finished tree");
  assert.equal(
    resultOf<Json[]>(await w.tasks('alice', 'tasks.running.status', { task_ids: [w.ids.hang] }), 'status')[0]?.status,
    'in_progress',
  );
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.count', { root_only: true }), 'count').total,
    4,
    'no copies',
  );

  // The receiver works: alice's own run reaches it, and only that run ever did.
  const started = resultOf<Json>(
    await w.tasks('alice', 'tasks.execute', { task_id: w.ids.tree, webhook_config: { url: hook.url } }),
    'alice execute with webhook',
  );
  assert.equal(started.status, 'started');
  const delivered = await eventually(() => hook.delivered().some((body) => body.final === true) && hook.delivered());
  assert.ok(
    delivered.every((body) => body.root_task_id === w.ids.tree),
    "only alice's run was sent",
  );
  assert.deepEqual(
    delivered.map((body) => body.seq),
    Array.from({ length: delivered.length }, (_, i) => i + 1),
    'one run: seq 1..n once',
  );
  assert.equal(hook.hits.length, delivered.length);
});
