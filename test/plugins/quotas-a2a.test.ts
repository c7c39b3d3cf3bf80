/**
 * A tree started over A2A counts against the same daily budget, and a start over it is answered
 * as on /tasks (HTTP 429, -32001 with its data); the refused A2A task ends failed, not submitted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc } from '../helpers.ts';
import { V1, v1Message } from './a2a-jsonrpc-setup.ts';
import { assertRefused, quotaServer } from './quotas-setup.ts';

test('message/send and SendMessage over the daily tree budget: HTTP 429, -32001 with data; the A2A task ends failed', async (t) => {
  const { url, token, as } = await quotaServer(t, { trees_per_day: 1 });
  const send = async (method: string, id: string, headers: Record<string, string> = {}) => {
    const message = v1Message([{ data: { tasks: [{ id, name: id, schemas: { method: 'echo' } }] } }]);
    const answer = await rpc(
      url,
      '/',
      { jsonrpc: '2.0', id: 1, method, params: { message } },
      { authorization: `Bearer ${await token('alice')}`, ...V1, ...headers },
    );
    return { status: answer.status, ...(answer.body as { error?: unknown; result?: unknown }) };
  };
  const first = await send('SendMessage', 'a2a-1');
  assert.equal(first.status, 200, JSON.stringify(first));
  assert.equal(first.error, undefined, JSON.stringify(first.error));
  const refused = await send('SendMessage', 'a2a-2');
  assertRefused(refused as never, 'trees', 1, 1);
  // Nothing of the refused tree is left.
  assert.equal((await as('alice').call('tasks.get', { task_id: 'a2a-2' })).result, null);
  // The refused message's A2A task is listed as failed (nothing runs it), with the reason.
  const listed = await rpc(
    url,
    '/',
    { jsonrpc: '2.0', id: 2, method: 'ListTasks', params: {} },
    { authorization: `Bearer ${await token('alice')}`, ...V1 },
  );
  const tasks = (listed.body?.result as { tasks: { status: { state: string } }[] }).tasks;
  assert.deepEqual(tasks.map((task) => task.status.state).sort(), ['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED']);
  // The same budget as /tasks: alice's next tree there is refused too.
  assertRefused(await as('alice').run('rest-1'), 'trees', 1, 1);
});

test('SendStreamingMessage over the budget: the stream’s one error event is -32001 with the refusal’s data', async (t) => {
  const { url, token, as } = await quotaServer(t, { trees_per_day: 1 });
  assert.equal((await as('alice').run('first')).error, undefined);
  const message = v1Message([{ data: { tasks: [{ id: 'streamed', name: 'streamed', schemas: { method: 'echo' } }] } }]);
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('alice')}`, ...V1 },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'SendStreamingMessage', params: { message } }),
  });
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const frames = (await response.text()).split('\n').filter((line) => line.startsWith('data:'));
  assert.equal(frames.length, 1, frames.join('\n'));
  const event = JSON.parse((frames[0] as string).slice(5)) as { id: number; error: { code: number; data: unknown } };
  assert.equal(event.id, 7);
  assert.equal(event.error.code, -32001);
  assert.equal((event.error.data as { reason: string }).reason, 'trees');
});
