import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc, testApp } from '../helpers.ts';

/**
 * Limits hold on every path a request can take: params nesting on A2A as on /tasks, the id cap
 * for ids given as a comma-separated string as for arrays, and no internal error text on the wire.
 */

interface Envelope {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

test('A2A refuses params nested deeper than 256 levels with -32602, as /tasks does, on both protocol versions', async (t) => {
  const app = await testApp(t);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const calls: [string, Record<string, string>, string][] = [
    ['message/send', {}, `{"message":{"messageId":"m","role":"user","parts":[{"kind":"data","data":${deep(5000)}}]}}`],
    [
      'SendMessage',
      { 'a2a-version': '1.0' },
      `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"data":${deep(5000)}}]}}`,
    ],
    ['tasks/get', {}, `{"id":"x","metadata":${deep(300)}}`],
  ];
  for (const [method, headers, params] of calls) {
    const answer = (await rpc(url, '/', `{"jsonrpc":"2.0","id":7,"method":"${method}","params":${params}}`, headers))
      .body as unknown as Envelope & { id: unknown };
    assert.equal(answer.id, 7);
    assert.equal(answer.error?.code, -32602, `${method}: ${JSON.stringify(answer)}`);
    assert.match(answer.error?.message ?? '', /more than 256 levels deep/);
  }
  // The same limit and words as /tasks.
  const tasks = (
    await rpc(
      url,
      '/tasks',
      `{"jsonrpc":"2.0","id":1,"method":"tasks.create","params":[{"name":"x","inputs":${deep(300)}}]}`,
    )
  ).body as Envelope;
  assert.equal(tasks.error?.code, -32602);
  assert.match(tasks.error?.message ?? '', /more than 256 levels deep/);
  // Just under the limit is fine.
  const fine = (
    await rpc(
      url,
      '/',
      `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"messageId":"m","role":"user","parts":[{"kind":"data","data":${deep(200)}}]}}}`,
    )
  ).body as Envelope;
  assert.equal(fine.error, undefined, JSON.stringify(fine).slice(0, 300));
});

test('an internal failure on A2A answers "Internal error" and the request id, never its own text', async (t) => {
  const app = await testApp(t);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  // A database that lost the A2A table: every SendMessage fails inside the handler.
  await app.storage.sql.run('DROP TABLE a2a_tasks');
  for (const [method, headers, message] of [
    ['message/send', {}, { messageId: 'm1', role: 'user', parts: [{ kind: 'text', text: 'hi' }] }],
    ['SendMessage', { 'a2a-version': '1.0' }, { messageId: 'm2', role: 'ROLE_USER', parts: [{ text: 'hi' }] }],
  ] as const) {
    const response = await rpc(url, '/', { jsonrpc: '2.0', id: 3, method, params: { message } }, headers);
    const answer = response.body as Envelope;
    assert.equal(answer.error?.code, -32603, JSON.stringify(answer));
    assert.equal(answer.error?.message, 'Internal error');
    assert.deepEqual(Object.keys((answer.error?.data ?? {}) as object), ['request_id']);
    assert.doesNotMatch(JSON.stringify(answer), /a2a_tasks|SQLITE|no such table/i);
  }
  // Streams too: a streaming method's failure is the one event of its event stream.
  const streamed = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 4,
      method: 'message/stream',
      params: { message: { messageId: 'm3', role: 'user', parts: [{ kind: 'text', text: 'hi' }] } },
    }),
  });
  assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await streamed.text();
  const stream = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? 'null') as Envelope;
  assert.equal(stream.error?.message, 'Internal error', text);
  assert.doesNotMatch(text, /a2a_tasks|SQLITE|no such table/i);
});

test('ids given as a comma-separated string are held to the 1,000-id cap, with the same error as an array', async (t) => {
  const app = await testApp(t);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);
  const call = async (method: string, params: unknown) =>
    (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params })).body as Envelope;
  for (const method of ['tasks.cancel', 'tasks.running.cancel', 'tasks.running.status']) {
    for (const field of ['task_ids', 'context_ids']) {
      const asArray = await call(method, { [field]: ids(1001) });
      const asString = await call(method, { [field]: ids(200_000).join(',') });
      assert.equal(asArray.error?.code, -32602, `${method} array`);
      assert.equal(asString.error?.code, -32602, `${method} string: ${JSON.stringify(asString).slice(0, 200)}`);
      const line = `params.${field}: must not have more than 1000 items`;
      assert.ok(asArray.error?.message.includes(line), `${method} array: ${asArray.error?.message}`);
      assert.equal(asString.error?.message, `Invalid params for ${method}:\n- ${line}`);
      const atCap = await call(method, { [field]: ids(1000).join(',') });
      assert.equal((atCap.result as unknown[]).length, 1000, `${method}: 1000 ids are fine`);
    }
  }
  const tree = (await call('tasks.create', [{ name: 'c' }])).result as { id: string };
  const copy = await call('tasks.copy', {
    task_id: tree.id,
    copy_mode: 'custom',
    custom_task_ids: ids(1001).join(','),
  });
  assert.equal(
    copy.error?.message,
    'Invalid params for tasks.copy:\n- params.custom_task_ids: must not have more than 1000 items',
  );
});
