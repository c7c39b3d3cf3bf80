import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { rpc } from '../helpers.ts';
import {
  V1,
  type Json,
  type Envelope,
  a2aApp,
  streamCall,
  assertErrorStream,
  v03Message,
  v1Message,
} from './a2a-conformance-setup.ts';

/**
 * What the A2A conformance kit (0.3.0, optional capabilities) and the specification ask beyond
 * the main flows: errors of streaming methods come as an event of a `text/event-stream` answer;
 * push configs for names that do not resolve here are stored (the policy judges each delivery);
 * the agent card mentions the MCP endpoint exactly when the server has one.
 */

test('streaming methods answer their errors as one event of an event stream: unknown tasks, bad params, a version not spoken', async (t) => {
  const { url, call } = await a2aApp(t);
  const ghost = `non-existent-task-id-${randomUUID()}`;

  // The kit's check: tasks/resubscribe to an unknown task gives an error event whose message says "not found" or "task".
  const resubscribe = await streamCall(url, {
    jsonrpc: '2.0',
    id: 'r-1',
    method: 'tasks/resubscribe',
    params: { id: ghost },
  });
  const notFound = assertErrorStream(resubscribe, -32001, 'r-1');
  assert.match(notFound.message.toLowerCase(), /not found/);
  assert.equal(resubscribe.events[0]?.event, 'error', 'named an error event, as the SDK names mid-stream errors');
  const subscribe = await streamCall(
    url,
    { jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: ghost } },
    V1,
  );
  assert.match(assertErrorStream(subscribe, -32001, 2).message, /not found/i);

  // Bad params, caught by the SDK's envelope checks or by the message checks after them.
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 3, method: 'message/stream', params: { invalid: 'params' } }),
    -32602,
    3,
  );
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 4, method: 'message/stream', params: 'not-an-object' }),
    -32602,
    4,
  );
  assertErrorStream(
    await streamCall(
      url,
      { jsonrpc: '2.0', id: 5, method: 'SendStreamingMessage', params: { message: { parts: 'invalid' } } },
      V1,
    ),
    -32602,
    5,
  );
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 6, method: 'tasks/resubscribe', params: {} }),
    -32001,
    6,
  );

  // A terminal task: v1.0 refuses the subscription (-32004), as an event too.
  const done = await call(
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'SendMessage',
      params: { message: v1Message([{ data: { tasks: [{ name: 'quick', schemas: { method: 'noop' } }] } }]) },
    },
    V1,
  );
  const doneId = (done.result?.task as { id: string; status: { state: string } }).id;
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 8, method: 'SubscribeToTask', params: { id: doneId } }, V1),
    -32004,
    8,
  );

  // A version the server does not speak, on a streaming method.
  assertErrorStream(
    await streamCall(
      url,
      { jsonrpc: '2.0', id: 9, method: 'SendStreamingMessage', params: { message: v1Message() } },
      { 'a2a-version': '99.0' },
    ),
    -32009,
    9,
  );

  // Other methods keep plain JSON errors; so does a streaming method inside a batch (it cannot stream).
  const get = await streamCall(url, { jsonrpc: '2.0', id: 10, method: 'tasks/get', params: { id: ghost } });
  assert.match(get.type, /^application\/json/);
  assert.equal((JSON.parse(get.text) as Envelope).error?.code, -32001);
  const batch = await streamCall(url, [{ jsonrpc: '2.0', id: 11, method: 'tasks/resubscribe', params: { id: ghost } }]);
  assert.match(batch.type, /^application\/json/);
  assert.equal((JSON.parse(batch.text) as Envelope[])[0]?.error?.code, -32004);

  // A stream that has something to say still says it: the Task first, then the stream ends.
  const waiting = await streamCall(url, {
    jsonrpc: '2.0',
    id: 12,
    method: 'message/stream',
    params: { message: v03Message() },
  });
  assert.match(waiting.type, /^text\/event-stream/);
  assert.deepEqual(
    waiting.events.map((event) => [event.data.id, (event.data.result as Json | undefined)?.kind]),
    [[12, 'task']],
  );
});

test('an internal failure inside a streaming call is the stream\'s one event: "Internal error" and the request id, never its own text', async (t) => {
  const { app, url } = await a2aApp(t);
  // A database that lost the A2A table: every message fails inside the handler.
  await app.storage.sql.run('DROP TABLE a2a_tasks');
  for (const [method, headers, message] of [
    ['message/stream', {}, v03Message()],
    ['SendStreamingMessage', V1, v1Message()],
  ] as const) {
    const answer = await streamCall(url, { jsonrpc: '2.0', id: 4, method, params: { message } }, headers);
    const error = assertErrorStream(answer, -32603, 4);
    assert.equal(error.message, 'Internal error');
    assert.deepEqual(Object.keys((error.data ?? {}) as object), ['request_id']);
    assert.doesNotMatch(answer.text, /a2a_tasks|SQLITE|no such table/i);
  }
});

test("another user's task reads as unknown to a streaming method too: the same error event", async (t) => {
  const SECRET = 'a2a-conformance-test-secret-0123456789abcdef';
  const { app, url } = await a2aApp(t, { auth: { jwt_secret: SECRET } });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const alice = { authorization: `Bearer ${await jwt.mint('alice', [], '1h')}` };
  const bob = { authorization: `Bearer ${await jwt.mint('bob', [], '1h')}` };
  const sent = await rpc(
    url,
    '/',
    { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } },
    { ...V1, ...alice },
  );
  const theirs = ((sent.body as Envelope).result?.task as { id: string }).id;
  const ghost = randomUUID();
  for (const [method, headers] of [
    ['SubscribeToTask', V1],
    ['tasks/resubscribe', {}],
  ] as const) {
    const mine = await streamCall(
      url,
      { jsonrpc: '2.0', id: 'x', method, params: { id: theirs } },
      { ...headers, ...bob },
    );
    const unknown = await streamCall(
      url,
      { jsonrpc: '2.0', id: 'x', method, params: { id: ghost } },
      { ...headers, ...bob },
    );
    const error = assertErrorStream(mine, -32001, 'x');
    assertErrorStream(unknown, -32001, 'x');
    assert.equal(mine.text.replaceAll(theirs, ghost), unknown.text, `${method}: the same answer as for an unknown id`);
    assert.doesNotMatch(JSON.stringify(error), /alice/);
  }
  // Alice herself gets her task first.
  const own = await streamCall(
    url,
    { jsonrpc: '2.0', id: 'a', method: 'tasks/resubscribe', params: { id: theirs } },
    alice,
  );
  assert.equal((own.events[0]?.data.result as Json | undefined)?.id, theirs);
});
