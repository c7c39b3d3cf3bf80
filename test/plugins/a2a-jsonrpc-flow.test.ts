import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers.ts';
import { V1, a2aApp, v03Message, v1Message, assertError } from './a2a-jsonrpc-setup.ts';

test('the v0.3 protocol flow over raw JSON-RPC: continuation, tasks/get with historyLength, cancel, unknown ids', async (t) => {
  const { call } = await a2aApp(t);
  const created = (await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } }))
    .result as { id: string; contextId: string; kind: string };
  assert.equal(created.kind, 'task');
  for (let i = 0; i < 3; i++) {
    const next = await call({
      jsonrpc: '2.0',
      id: 2 + i,
      method: 'message/send',
      params: { message: v03Message(undefined, { taskId: created.id }) },
    });
    assert.equal(next.result?.id, created.id);
    assert.equal((next.result?.status as { state: string }).state, 'input-required');
  }
  const full = (await call({ jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { id: created.id } })).result as {
    history: unknown[];
  };
  assert.equal(full.history.length, 8);
  const limited = (
    await call({ jsonrpc: '2.0', id: 10, method: 'tasks/get', params: { id: created.id, historyLength: 2 } })
  ).result as { history: unknown[] };
  assert.deepEqual(limited.history, full.history.slice(-2));
  const one = (
    await call({ jsonrpc: '2.0', id: 11, method: 'tasks/get', params: { id: created.id, historyLength: 1 } })
  ).result;
  assert.ok(one && 'history' in one, 'history is present with historyLength 1');
  assertError(
    await call({ jsonrpc: '2.0', id: 12, method: 'tasks/get', params: { id: 'nonexistent-task-id' } }),
    -32001,
    12,
  );
  const canceled = (await call({ jsonrpc: '2.0', id: 13, method: 'tasks/cancel', params: { id: created.id } }))
    .result as { id: string; status: { state: string } };
  assert.equal(canceled.id, created.id);
  assert.equal(canceled.status.state, 'canceled');
  assertError(await call({ jsonrpc: '2.0', id: 14, method: 'tasks/cancel', params: { id: created.id } }), -32002, 14);
  assertError(
    await call({ jsonrpc: '2.0', id: 15, method: 'tasks/cancel', params: { id: 'nonexistent-task-id' } }),
    -32001,
    15,
  );
  assertError(
    await call({
      jsonrpc: '2.0',
      id: 16,
      method: 'message/send',
      params: { message: v03Message(undefined, { taskId: created.id }) },
    }),
    -32004,
    16,
  );
});

test('ListTasks (v1.0) lists tasks newest first by pages; the last page has nextPageToken ""; v0.3 has no tasks/list', async (t) => {
  const { call } = await a2aApp(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const sent = await call({ jsonrpc: '2.0', id: i, method: 'SendMessage', params: { message: v1Message() } }, V1);
    ids.push((sent.result?.task as { id: string }).id);
    // Creation times have millisecond precision: keep them apart so "newest first" is one order.
    await sleep(5);
  }
  const newestFirst = [...ids].reverse();
  const seen: string[] = [];
  let pageToken = '';
  const tokens: string[] = [];
  for (let page = 0; page < 5; page++) {
    const answer = await call(
      {
        jsonrpc: '2.0',
        id: `p${page}`,
        method: 'ListTasks',
        params: { pageSize: 2, ...(pageToken ? { pageToken } : {}) },
      },
      V1,
    );
    const result = answer.result as {
      tasks: { id: string }[];
      nextPageToken: string;
      pageSize: number;
      totalSize: number;
    };
    assert.ok(result, JSON.stringify(answer));
    assert.equal(result.totalSize, 5);
    assert.equal(result.pageSize, 2);
    assert.ok('nextPageToken' in result, 'nextPageToken is always present');
    seen.push(...result.tasks.map((task) => task.id));
    tokens.push(result.nextPageToken);
    pageToken = result.nextPageToken;
    if (!pageToken) break;
  }
  assert.deepEqual(seen, newestFirst);
  assert.equal(tokens.length, 3, 'pages of 2, 2 and 1');
  assert.equal(tokens.at(-1), '');
  const all = (await call({ jsonrpc: '2.0', id: 'all', method: 'ListTasks', params: {} }, V1)).result as {
    tasks: { id: string }[];
    nextPageToken: string;
  };
  assert.deepEqual(
    all.tasks.map((task) => task.id),
    newestFirst,
  );
  assert.equal(all.nextPageToken, '');
  assertError(
    await call({ jsonrpc: '2.0', id: 'bad', method: 'ListTasks', params: { pageToken: 'not-a-token' } }, V1),
    -32602,
    'bad',
  );
  assertError(await call({ jsonrpc: '2.0', id: 'v03', method: 'tasks/list', params: {} }), -32601, 'v03');
});
