import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc, sleep } from '../helpers.ts';
import { type Json, type RpcError, TASK_KEYS, server, ids } from './tasks-api-setup.ts';

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
    input_required: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    user_id: 'u9',
  });
});
