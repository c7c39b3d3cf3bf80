import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Role, TaskState } from '@a2a-js/sdk';
import { eventually } from '../helpers.ts';
import {
  KINDS,
  WIRE_NAMES,
  a2aApp,
  clientOf,
  request,
  treeRequest,
  asTask,
  rejectsWith,
  collect,
  dataOf,
  assertTreeStream,
} from './a2a-setup.ts';

for (const kind of KINDS) {
  const names = WIRE_NAMES[kind];

  test(`${kind}: a text message waits for input; follow-ups keep the task; getTask honours historyLength; a tree then runs it`, async (t) => {
    const { url } = await a2aApp(t);
    const { client, wire } = await clientOf(kind, url);
    const first = asTask(await client.sendMessage(request({ text: 'Hello from the test' })));
    assert.equal(first.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const said = first.status?.message?.parts[0]?.content;
    assert.equal(said?.$case, 'text');
    assert.match(String(said.value), /"tasks"/, 'the status message says to send {"tasks": [...]}');

    const second = asTask(
      await client.sendMessage(request({ text: 'still here' }, { taskId: first.id, contextId: first.contextId })),
    );
    assert.equal(second.id, first.id);
    assert.equal(second.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);

    const full = await client.getTask({ tenant: '', id: first.id });
    assert.equal(full.history.length, 4, 'two user messages and two agent answers');
    const lastTwo = await client.getTask({ tenant: '', id: first.id, historyLength: 2 });
    assert.equal(lastTwo.history.length, 2);
    assert.deepEqual(
      lastTwo.history.map((m) => m.messageId),
      full.history.slice(-2).map((m) => m.messageId),
    );
    const one = await client.getTask({ tenant: '', id: first.id, historyLength: 1 });
    assert.deepEqual(
      one.history.map((m) => m.role),
      [Role.ROLE_AGENT],
    );
    const none = await client.getTask({ tenant: '', id: first.id, historyLength: 0 });
    assert.equal(none.history.length, 0);

    await rejectsWith(
      client.sendMessage(request({ text: 'x' }, { taskId: first.id, contextId: 'some-other-context' })),
      -32602,
    );
    await rejectsWith(client.sendMessage(request({ text: 'x' }, { taskId: 'no-such-task' })), -32001);

    const ran = asTask(
      await client.sendMessage(
        treeRequest([{ name: 'root', schemas: { method: 'echo' }, inputs: { follow: 'up' } }], { taskId: first.id }),
      ),
    );
    assert.equal(ran.id, first.id, 'the follow-up runs the same task');
    assert.equal(ran.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.deepEqual(dataOf(ran.artifacts[0]?.parts).result, { follow: 'up' });

    await rejectsWith(client.sendMessage(request({ text: 'more?' }, { taskId: first.id })), -32004);
    await rejectsWith(
      client.sendMessage(treeRequest([{ name: 'again', schemas: { method: 'noop' } }], { taskId: first.id })),
      -32004,
    );
    await rejectsWith(client.getTask({ tenant: '', id: 'no-such-task' }), -32001);
    assert.ok(wire.every((call) => call.version === kind));
    assert.ok(wire.some((call) => call.method === names.get));
  });

  test(`${kind}: cancelTask cancels a running tree; a finished one is not cancelable; an unknown one is not found`, async (t) => {
    const { app, url } = await a2aApp(t);
    const { client, wire } = await clientOf(kind, url);
    const running = asTask(
      await client.sendMessage(
        treeRequest([{ name: 'forever', schemas: { method: 'hang' } }], { configuration: { returnImmediately: true } }),
      ),
    );
    const rootId = String(running.metadata?.root_task_id);
    await eventually(async () => (await app.tasks.get(rootId))?.status === 'in_progress');
    const canceled = await client.cancelTask({ tenant: '', id: running.id, metadata: undefined });
    assert.equal(canceled.id, running.id);
    assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal((await client.getTask({ tenant: '', id: running.id })).status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal((await app.tasks.get(rootId))?.status, 'cancelled');
    await rejectsWith(client.cancelTask({ tenant: '', id: running.id, metadata: undefined }), -32002);

    const finished = asTask(await client.sendMessage(treeRequest([{ name: 'quick', schemas: { method: 'noop' } }])));
    assert.equal(finished.status?.state, TaskState.TASK_STATE_COMPLETED);
    await rejectsWith(client.cancelTask({ tenant: '', id: finished.id, metadata: undefined }), -32002);
    await rejectsWith(client.cancelTask({ tenant: '', id: 'nonexistent-task-id', metadata: undefined }), -32001);

    const waiting = asTask(await client.sendMessage(request({ text: 'no tree yet' })));
    assert.equal(
      (await client.cancelTask({ tenant: '', id: waiting.id, metadata: undefined })).status?.state,
      TaskState.TASK_STATE_CANCELED,
    );
    assert.ok(wire.filter((call) => call.method === names.cancel).length >= 4);
  });

  test(`${kind}: resubscribe to a running task yields the Task then the rest of its updates; to a finished one per version`, async (t) => {
    const { app, url } = await a2aApp(t);
    const { client, wire } = await clientOf(kind, url);
    const started = asTask(
      await client.sendMessage(
        treeRequest(
          [
            { name: 'root', schemas: { method: 'echo' }, inputs: { again: 1 } },
            { name: 'nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 400 } },
          ],
          { configuration: { returnImmediately: true } },
        ),
      ),
    );
    const rootId = String(started.metadata?.root_task_id);
    const events = await collect(client.resubscribeTask({ tenant: '', id: started.id }));
    const first = events[0]?.payload;
    assert.equal(first?.$case, 'task');
    assert.equal(first.value.id, started.id);
    assert.ok([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(first.value.status?.state ?? 0));
    assertTreeStream(events, started.id, { root_task_id: rootId, status: 'completed', result: { again: 1 } });
    const log = await app.tasks.events(rootId);
    const seqs = events
      .slice(1, -2)
      .map((event) =>
        event.payload?.$case === 'statusUpdate' ? Number(dataOf(event.payload.value.status?.message?.parts).seq) : -1,
      );
    const expected = log.filter((event) => event.type !== 'final').map((event) => event.seq);
    assert.deepEqual(
      seqs,
      expected.slice(expected.length - seqs.length),
      'the remaining updates, none twice, none skipped',
    );
    assert.equal(wire.at(-1)?.method, names.subscribe);

    if (kind === '1.0') {
      await rejectsWith(() => collect(client.resubscribeTask({ tenant: '', id: started.id })), -32004);
    } else {
      const again = await collect(client.resubscribeTask({ tenant: '', id: started.id }));
      assert.deepEqual(
        again.map((event) => event.payload?.$case),
        ['task'],
      );
      const only = again[0]?.payload;
      assert.equal(only?.$case === 'task' && only.value.status?.state, TaskState.TASK_STATE_COMPLETED);
    }
    await rejectsWith(() => collect(client.resubscribeTask({ tenant: '', id: 'nonexistent-task-id' })), -32001);
  });
}
