import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  AgentCard,
  Role,
  SendMessageRequest,
  TaskState,
  type Message,
  type StreamResponse,
  type Task,
} from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { eventually, httpReceiver, repoRoot, rpc, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** The two kinds of official client: native v1.0, and v0.3 through the SDK's compat layer. */
const KINDS = ['1.0', '0.3'] as const;
type Kind = (typeof KINDS)[number];

/** What each kind must say on the wire for the calls the tests make. */
const WIRE_NAMES: Record<Kind, Record<string, string>> = {
  '1.0': {
    send: 'SendMessage',
    stream: 'SendStreamingMessage',
    get: 'GetTask',
    cancel: 'CancelTask',
    subscribe: 'SubscribeToTask',
    pushSet: 'CreateTaskPushNotificationConfig',
  },
  '0.3': {
    send: 'message/send',
    stream: 'message/stream',
    get: 'tasks/get',
    cancel: 'tasks/cancel',
    subscribe: 'tasks/resubscribe',
    pushSet: 'tasks/pushNotificationConfig/set',
  },
};

interface WireCall {
  method: string;
  version: string | null;
}

async function a2aApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/**
 * A client of `kind` for the server at `url`, and the JSON-RPC calls it made (method and
 * A2A-Version header, read off the wire).
 */
async function clientOf(kind: Kind, url: string): Promise<{ client: Client; wire: WireCall[] }> {
  const wire: WireCall[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    if (init?.method === 'POST' && typeof init.body === 'string') {
      const headers = new Headers(init.headers);
      wire.push({ method: (JSON.parse(init.body) as { method: string }).method, version: headers.get('a2a-version') });
    }
    return fetch(input, init);
  };
  if (kind === '1.0') {
    const client = await new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] }).createFromUrl(
      url,
    );
    return { client, wire };
  }
  // A pure v0.3 card: what the server serves without A2A-Version, less v1.0's supportedInterfaces.
  const response = await fetch(`${url}/.well-known/agent-card.json`);
  assert.equal(response.status, 200);
  const card = (await response.json()) as Record<string, unknown>;
  delete card.supportedInterfaces;
  const legacyCompat = { enabled: true };
  const client = await new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat })],
    cardResolver: new DefaultAgentCardResolver({ legacyCompat }),
  }).createFromAgentCard(card as unknown as AgentCard);
  return { client, wire };
}

/** A user message: a data part holding `data`, or a text part. */
function request(
  content: { data?: Record<string, unknown>; text?: string },
  extra: {
    taskId?: string;
    contextId?: string;
    metadata?: Record<string, unknown>;
    configuration?: Record<string, unknown>;
  } = {},
): SendMessageRequest {
  const part = content.data ? { data: content.data } : { text: content.text ?? 'hello' };
  return SendMessageRequest.fromJSON({
    message: {
      messageId: randomUUID(),
      role: 'ROLE_USER',
      parts: [part],
      taskId: extra.taskId,
      contextId: extra.contextId,
      metadata: extra.metadata,
    },
    configuration: extra.configuration,
  });
}

const treeRequest = (tasks: Record<string, unknown>[], extra: Parameters<typeof request>[1] = {}) =>
  request({ data: { tasks } }, extra);

function asTask(result: Task | Message): Task {
  assert.ok(!('messageId' in result), `expected a Task, got a Message: ${JSON.stringify(result)}`);
  return result;
}

/** The JSON-RPC error code of a failed client call (typed errors carry envelopeCode; SSE errors only say it). */
function codeOf(error: unknown): number | undefined {
  const envelope = (error as { envelopeCode?: number }).envelopeCode;
  if (typeof envelope === 'number') return envelope;
  const said = /Code: (-?\d+)/.exec(String((error as Error).message))?.[1];
  return said === undefined ? undefined : Number(said);
}

async function rejectsWith(
  call: Promise<unknown> | (() => Promise<unknown>),
  code: number,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(typeof call === 'function' ? call() : call, (error: unknown) => {
    assert.equal(codeOf(error), code, `error code of ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return true;
  });
}

async function collect(stream: AsyncIterable<StreamResponse>): Promise<StreamResponse[]> {
  const events: StreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The data of a part (`{data}` in v1.0, `{kind:'data'}` in v0.3, both read as the SDK object). */
function dataOf(
  parts: { content?: { $case: string; value?: unknown } }[] | undefined,
  index = 0,
): Record<string, unknown> {
  const content = parts?.[index]?.content;
  assert.equal(content?.$case, 'data', `part ${index} is a data part`);
  return content?.value as Record<string, unknown>;
}

/** Checks the shape of a tree's stream: the Task, working updates, the artifact, the terminal update. */
function assertTreeStream(
  events: StreamResponse[],
  taskId: string,
  result: Record<string, unknown>,
  options: { firstTask?: boolean } = {},
) {
  const kinds = events.map((event) => event.payload?.$case);
  if (options.firstTask !== false) assert.equal(kinds[0], 'task', `first event is the Task: ${kinds.join(',')}`);
  assert.equal(kinds.at(-1), 'statusUpdate', `last event is a status update: ${kinds.join(',')}`);
  assert.equal(kinds.at(-2), 'artifactUpdate', `the artifact comes right before the final update: ${kinds.join(',')}`);
  assert.equal(kinds.filter((kind) => kind === 'artifactUpdate').length, 1);
  const middle = events.slice(options.firstTask === false ? 0 : 1, -2);
  assert.ok(middle.length > 0, 'at least one working update');
  const seqs: number[] = [];
  for (const event of middle) {
    assert.equal(event.payload?.$case, 'statusUpdate');
    const update = event.payload.value;
    assert.equal(update.taskId, taskId);
    assert.equal(update.status?.state, TaskState.TASK_STATE_WORKING);
    seqs.push(Number(dataOf(update.status?.message?.parts).seq));
  }
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'working updates in event order',
  );
  const last = events.at(-1)?.payload;
  assert.equal(last?.$case, 'statusUpdate');
  assert.equal(last.value.taskId, taskId);
  assert.equal(last.value.status?.state, TaskState.TASK_STATE_COMPLETED);
  const artifact = events.at(-2)?.payload;
  assert.equal(artifact?.$case, 'artifactUpdate');
  assert.equal(artifact.value.taskId, taskId);
  assert.deepEqual(dataOf(artifact.value.artifact?.parts), result);
}

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

  test(`${kind}: push notifications: every update of the tree reaches the receiver in order (after a 500), with the token and credentials; secrets stay hidden`, async (t) => {
    const { app, url } = await a2aApp(t, { a2a: { push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } } });
    const hook = await httpReceiver(t, (_body, n) => (n === 0 ? 500 : 200));
    const { client, wire } = await clientOf(kind, url);
    const waiting = asTask(await client.sendMessage(request({ text: 'tree follows' })));
    const token = `tok-${randomUUID()}`;
    const credentials = `cred-${randomUUID()}`;
    const created = await client.createTaskPushNotificationConfig({
      tenant: '',
      id: 'hook-1',
      taskId: waiting.id,
      url: hook.url,
      token,
      authentication: { scheme: 'Bearer', credentials },
    });
    assert.equal(created.url, hook.url);
    assert.equal(created.taskId, waiting.id);
    assert.equal(created.id, 'hook-1');
    assert.notEqual(created.token, token, 'the token is not echoed back');
    assert.ok(!JSON.stringify(created).includes(token) && !JSON.stringify(created).includes(credentials));
    const got = await client.getTaskPushNotificationConfig({ tenant: '', taskId: waiting.id, id: 'hook-1' });
    assert.equal(got.url, hook.url);
    assert.equal(got.token, '***');
    assert.equal(got.authentication?.credentials, '***');
    const listed = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: waiting.id,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(
      listed.configs.map((config) => [config.id, config.url, config.token]),
      [['hook-1', hook.url, '***']],
    );
    const rows = await app.storage.sql.select('SELECT * FROM a2a_push_configs');
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(token), 'the token is not stored in the clear');
    assert.ok(!JSON.stringify(rows).includes(credentials), 'the credentials are not stored in the clear');

    const ran = asTask(
      await client.sendMessage(
        treeRequest(
          [
            { name: 'root', schemas: { method: 'echo' }, inputs: { pushed: kind } },
            { name: 'nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
          ],
          { taskId: waiting.id },
        ),
      ),
    );
    assert.equal(ran.status?.state, TaskState.TASK_STATE_COMPLETED);
    const rootId = String(ran.metadata?.root_task_id);
    const isFinal = (body: Record<string, unknown>) =>
      kind === '1.0'
        ? (body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state === 'TASK_STATE_COMPLETED'
        : body.final === true;
    const delivered = await eventually(() => hook.delivered().some(isFinal) && hook.delivered());
    assert.equal(hook.hits[0]?.status, 500);
    assert.deepEqual(hook.hits[1]?.body, hook.hits[0]?.body, 'the refused update is sent again');
    const log = await app.tasks.events(rootId);
    const working = log.filter((event) => event.type !== 'final').map((event) => event.seq);

    for (const hit of hook.hits) {
      assert.equal(hit.method, 'POST');
      assert.equal(hit.headers.authorization, `Bearer ${credentials}`);
      assert.equal(hit.headers['x-a2a-notification-token'], token);
    }
    if (kind === '1.0') {
      for (const hit of hook.hits) assert.match(String(hit.headers['content-type']), /^application\/a2a\+json/);
      const kinds = delivered.map((body) => Object.keys(body).join(','));
      assert.deepEqual(kinds, [...working.map(() => 'statusUpdate'), 'artifactUpdate', 'statusUpdate']);
      const updates = delivered.slice(0, -2).map(
        (body) =>
          body.statusUpdate as {
            taskId: string;
            status: { state: string; message: { parts: { data: { seq: number } }[] } };
          },
      );
      assert.deepEqual(
        updates.map((update) => update.status.message.parts[0]?.data.seq),
        working,
      );
      assert.ok(
        updates.every((update) => update.taskId === waiting.id && update.status.state === 'TASK_STATE_WORKING'),
      );
      const artifact = delivered.at(-2)?.artifactUpdate as { artifact: { parts: { data: unknown }[] } };
      assert.deepEqual(artifact.artifact.parts[0]?.data, {
        root_task_id: rootId,
        status: 'completed',
        result: { pushed: '1.0' },
      });
    } else {
      const kinds = delivered.map((body) => body.kind);
      assert.deepEqual(kinds, [...working.map(() => 'status-update'), 'artifact-update', 'status-update']);
      const updates = delivered.filter((body) => body.kind === 'status-update') as {
        taskId: string;
        final: boolean;
        status: { state: string; message: { parts: { kind: string; data: { seq: number } }[] } };
      }[];
      assert.deepEqual(
        updates.slice(0, -1).map((update) => update.status.message.parts[0]?.data.seq),
        working,
      );
      assert.deepEqual(
        updates.map((update) => update.final),
        [...working.map(() => false), true],
      );
      assert.deepEqual(
        updates.map((update) => update.status.state),
        [...working.map(() => 'working'), 'completed'],
      );
      assert.ok(updates.every((update) => update.taskId === waiting.id));
      const artifact = delivered.at(-2) as { artifact: { parts: { kind: string; data: unknown }[] } };
      assert.deepEqual(artifact.artifact.parts[0], {
        kind: 'data',
        data: { root_task_id: rootId, status: 'completed', result: { pushed: '0.3' } },
      });
    }

    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: waiting.id, id: 'hook-1' });
    const after = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: waiting.id,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(after.configs, []);
    assert.deepEqual(await app.storage.sql.select('SELECT * FROM a2a_push_configs'), []);
    assert.ok(wire.some((call) => call.method === names.pushSet && call.version === kind));
  });
}
