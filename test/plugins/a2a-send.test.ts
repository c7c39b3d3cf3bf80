import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Role, TaskState } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { eventually, rpc } from '../helpers.ts';
import {
  KINDS,
  WIRE_NAMES,
  a2aApp,
  clientOf,
  request,
  treeRequest,
  asTask,
  collect,
  dataOf,
  assertTreeStream,
} from './a2a-setup.ts';

test('the official v1.0 client resolves the card natively; the v0.3 client works from the pure v0.3 card', async (t) => {
  const { url } = await a2aApp(t);
  const native = await new ClientFactory().createFromUrl(url);
  assert.equal(native.protocolVersion, '1.0');
  const card = await native.getAgentCard();
  assert.equal(card.capabilities?.streaming, true);
  assert.equal(card.capabilities?.pushNotifications, true);
  assert.ok(card.skills.some((skill) => skill.id === 'tasks.execute'));
  assert.deepEqual(
    card.supportedInterfaces.map((iface) => [iface.url, iface.protocolBinding, iface.protocolVersion]),
    [
      [`${url}/`, 'JSONRPC', '1.0'],
      [`${url}/`, 'JSONRPC', '0.3'],
    ],
  );

  const { client: legacy } = await clientOf('0.3', url);
  assert.equal(legacy.protocolVersion, '0.3');
  const legacyCard = await legacy.getAgentCard();
  assert.equal(legacyCard.supportedInterfaces[0]?.url, `${url}/`);
  assert.ok(legacyCard.skills.some((skill) => skill.id === 'tasks.execute'));
});

for (const kind of KINDS) {
  const names = WIRE_NAMES[kind];

  test(`${kind}: a blocking send runs the tree and answers the completed Task with the result artifact; returnImmediately answers at once`, async (t) => {
    const { app, url } = await a2aApp(t);
    const { client, wire } = await clientOf(kind, url);
    const tasks = [
      { name: 'root', schemas: { method: 'echo' }, inputs: { hello: 'world', n: 42 } },
      { name: 'kid', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 10 } },
    ];
    const task = asTask(await client.sendMessage(treeRequest(tasks)));
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.ok(task.id && task.contextId);
    assert.equal(task.artifacts.length, 1);
    const data = dataOf(task.artifacts[0]?.parts);
    const rootId = String(data.root_task_id);
    assert.deepEqual(data, { root_task_id: rootId, status: 'completed', result: { hello: 'world', n: 42 } });
    const root = await app.tasks.get(rootId);
    assert.equal(root?.status, 'completed');
    assert.deepEqual(root?.result, { hello: 'world', n: 42 });
    assert.deepEqual(
      task.history.map((m) => m.role),
      [Role.ROLE_USER],
      'the history holds the message sent',
    );
    assert.deepEqual(dataOf(task.history[0]?.parts).tasks, tasks);

    const quick = asTask(
      await client.sendMessage(
        treeRequest([{ name: 'nap', schemas: { method: 'sleep' }, inputs: { ms: 300 } }], {
          configuration: { returnImmediately: true },
        }),
      ),
    );
    assert.ok(
      [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(quick.status?.state ?? 0),
      `state ${quick.status?.state}`,
    );
    assert.equal(quick.artifacts.length, 0);
    const done = await eventually(async () => {
      const got = await client.getTask({ tenant: '', id: quick.id });
      return got.status?.state === TaskState.TASK_STATE_COMPLETED && got;
    });
    assert.deepEqual(dataOf(done.artifacts[0]?.parts).result, {
      slept: 300,
      task: dataOf(done.artifacts[0]?.parts).root_task_id,
    });

    assert.deepEqual(
      wire.map((call) => [call.method, call.version]),
      [[names.send, kind], [names.send, kind], ...wire.slice(2).map(() => [names.get, kind])],
    );
  });

  test(`${kind}: streaming a tree yields the Task, working updates, then the artifact and the completed update`, async (t) => {
    const { app, url } = await a2aApp(t);
    const { client, wire } = await clientOf(kind, url);
    const events = await collect(
      client.sendMessageStream(
        treeRequest([
          { name: 'root', schemas: { method: 'echo' }, inputs: { streamed: true } },
          { name: 'kid', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 30 } },
        ]),
      ),
    );
    const first = events[0]?.payload;
    assert.equal(first?.$case, 'task');
    const taskId = first.value.id;
    const rootId = String(first.value.metadata?.root_task_id);
    assertTreeStream(events, taskId, { root_task_id: rootId, status: 'completed', result: { streamed: true } });
    const log = await app.tasks.events(rootId);
    const workingSeqs = events
      .slice(1, -2)
      .map((event) =>
        event.payload?.$case === 'statusUpdate' ? Number(dataOf(event.payload.value.status?.message?.parts).seq) : -1,
      );
    assert.deepEqual(
      workingSeqs,
      log.filter((event) => event.type !== 'final').map((event) => event.seq),
      'one working update per event of the tree',
    );
    assert.equal(wire[0]?.method, names.stream);
    assert.equal(wire[0]?.version, kind);
  });

  test(`${kind}: metadata.method asks another operation and gets an agent Message with its result`, async (t) => {
    const { url } = await a2aApp(t);
    const { client } = await clientOf(kind, url);
    await client.sendMessage(treeRequest([{ name: 'one', schemas: { method: 'noop' } }]));
    const expected = (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.count', params: {} })).body
      ?.result;
    assert.notEqual(expected, undefined);
    const answer = await client.sendMessage(request({ data: {} }, { metadata: { method: 'tasks.count' } }));
    assert.ok('messageId' in answer, `expected a Message: ${JSON.stringify(answer)}`);
    assert.equal(answer.role, Role.ROLE_AGENT);
    assert.deepEqual(dataOf(answer.parts), { protocol: 'a2a', method: 'tasks.count', result: expected });
  });
}
