import assert from 'node:assert/strict';
import { test } from 'node:test';
import { V1, a2aApp, v03Message, v1Message, assertError } from './a2a-jsonrpc-setup.ts';

test("the conformance kit's JSON-RPC layer checks (v0.3, no A2A-Version): exact codes, HTTP 200, ids echoed", async (t) => {
  const { call } = await a2aApp(t);
  // 1 and 3: malformed JSON.
  assertError(await call('{"jsonrpc":"2.0","method":"message/send","params":{"foo":"bar"}'), -32700);
  assertError(await call('{"jsonrpc": "2.0", "method": "message/send", "id": 1, "params": {'), -32700);
  // 2a–2e: invalid requests, 2a–2c without an id (answered, not treated as notifications).
  assertError(await call({ jsonrpc: 'aaa', method: 'message/send', params: {} }), -32600);
  assertError(await call({ jsonrpc: '2.0', params: { message: v03Message() } }), -32600);
  assertError(await call({ jsonrpc: '2.0', method: 'message/ssend', params: { message: v03Message() } }), -32601);
  assertError(
    await call({ jsonrpc: '2.0', id: { bad: 'type' }, method: 'message/send', params: { message: v03Message() } }),
    -32600,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 'e', method: 'message/send', params: { '': 'not_a_dict' } }),
    -32602,
    'e',
  );
  // 4: unknown method with an id.
  assertError(await call({ jsonrpc: '2.0', id: 'u-1', method: 'nonexistent/method', params: {} }), -32601, 'u-1');
  // 5 and 13: invalid params.
  assertError(
    await call({ jsonrpc: '2.0', id: 5, method: 'message/send', params: { message: { parts: 'invalid' } } }),
    -32602,
    5,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 13, method: 'message/send', params: { message: { kind: 'message' } } }),
    -32602,
    13,
  );
  // 6: wrong JSON-RPC version, with a valid message.
  assertError(
    await call({ jsonrpc: '1.0', id: 'v-6', method: 'message/send', params: { message: v03Message() } }),
    -32600,
    'v-6',
  );
  // 7: missing method with an id.
  assertError(await call({ jsonrpc: '2.0', id: 7, params: { message: v03Message() } }), -32600, 7);
  // v1.0 names are unknown to v0.3 (ListTasks has no v0.3 JSON-RPC form).
  assertError(await call({ jsonrpc: '2.0', id: 8, method: 'ListTasks', params: {} }), -32601, 8);
});

test('v1.0 (A2A-Version: 1.0): parse errors, unknown methods and invalid messages get the JSON-RPC codes', async (t) => {
  const { call } = await a2aApp(t);
  assertError(await call('{"jsonrpc":"2.0","method":"SendMessage","params":{"foo":"bar"}', V1), -32700);
  assertError(
    await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } }, V1),
    -32601,
    1,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: { message: { parts: 'invalid' } } }, V1),
    -32602,
    2,
  );
  assertError(await call({ jsonrpc: '2.0', id: 3, method: 'SendMessage', params: { message: {} } }, V1), -32602, 3);
  assertError(await call({ jsonrpc: '2.0', id: 4, method: 'SendMessage', params: {} }, V1), -32602, 4);
  assertError(
    await call({ jsonrpc: '2.0', id: 5, method: 'SendMessage', params: { '': 'not_a_dict' } }, V1),
    -32602,
    5,
  );
});

test('an A2A-Version the server does not speak gets -32009; 0.3 and 1.0 select their method names', async (t) => {
  const { call } = await a2aApp(t);
  const answer = await call(
    { jsonrpc: '2.0', id: 'v', method: 'SendMessage', params: { message: v1Message() } },
    { 'a2a-version': '99.0' },
  );
  assertError(answer, -32009, 'v');
  assert.match(answer.error?.message ?? '', /99\.0/);
  const v03 = await call(
    { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } },
    { 'a2a-version': '0.3' },
  );
  assert.equal(v03.result?.kind, 'task');
  assert.equal((v03.result?.status as { state: string }).state, 'input-required');
  const v1 = await call({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: { message: v1Message() } }, V1);
  assert.equal((v1.result?.task as { status: { state: string } }).status.state, 'TASK_STATE_INPUT_REQUIRED');
});

test('duplicate request ids are both answered, each echoing the id; the first succeeds', async (t) => {
  const { call } = await a2aApp(t);
  const body = () => ({ jsonrpc: '2.0', id: 'dup-1', method: 'message/send', params: { message: v03Message() } });
  const first = await call(body());
  assert.equal(first.id, 'dup-1');
  assert.equal(first.result?.kind, 'task', JSON.stringify(first));
  const second = await call(body());
  assert.equal(second.id, 'dup-1');
  assert.ok(second.result || second.error);
  const [a, b] = await Promise.all([call(body()), call(body())]);
  assert.deepEqual([a.id, b.id], ['dup-1', 'dup-1']);
  assert.notEqual(a.result?.id, b.result?.id, 'two messages, two tasks');
});
