import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Role, TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import { testDatabases } from '../databases.ts';
import { eventually, httpReceiver, repoRoot, rpc, tempProject } from '../helpers.ts';
import { KINDS, a2aApp, clientOf, request, treeRequest, asTask, rejectsWith, dataOf } from './a2a-setup.ts';

const dirs = ['executors', 'durable-executors'].map((name) => join(repoRoot, 'test', 'fixtures', name));
const SCHEMA = {
  type: 'object',
  properties: { approved: { type: 'boolean' }, note: { type: 'string' } },
  required: ['approved'],
};

/** A listening app with the fixture executors and the durable ones, and a file for their side effects. */
async function approvalApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const log = join(tempProject(t), 'effects.log');
  const effects = () => readFileSync(log, 'utf8').trim().split('\n');
  return { ...(await a2aApp(t, { executors: { dirs }, ...inline })), log, effects };
}

/** An `approval` task (draft → question → publish) asking `prompt`. */
const approval = (log: string, prompt: string, extra: Record<string, unknown> = {}) => ({
  name: 'approve',
  schemas: { method: 'approval' },
  inputs: { log, prompt, topic: 'release notes' },
  ...extra,
});

/** The text and the data parts of a Task's status message. */
function statusParts(task: Task) {
  const parts = task.status?.message?.parts ?? [];
  const texts = parts.flatMap((part) => (part.content?.$case === 'text' ? [part.content.value] : []));
  return { texts, data: parts.flatMap((_, i) => (parts[i]?.content?.$case === 'data' ? [dataOf(parts, i)] : [])) };
}

/** The states of a stream's Task and status updates, in order. */
const statesOf = (events: StreamResponse[]) =>
  events.flatMap((event) => {
    const payload = event.payload;
    if (payload?.$case === 'task') return [payload.value.status?.state];
    if (payload?.$case === 'statusUpdate') return [payload.value.status?.state];
    return [];
  });

for (const kind of KINDS) {
  test(`${kind}: a task asking for approval makes the A2A task input-required with the prompt and schema; a wrong answer is refused; a data part on the same task answers it and the tree completes`, async (t) => {
    const { app, url, log, effects } = await approvalApp(t);
    const { client } = await clientOf(kind, url);
    const asked = asTask(await client.sendMessage(treeRequest([approval(log, 'Publish the release notes?')])));
    assert.equal(asked.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED, 'the blocking send returns at the question');
    const rootId = String(asked.metadata?.root_task_id);
    const { texts, data } = statusParts(asked);
    assert.deepEqual(texts, ['Publish the release notes?']);
    assert.deepEqual(data, [{ task_id: rootId, prompt: 'Publish the release notes?', schema: SCHEMA }]);
    assert.equal((await app.tasks.get(rootId))?.status, 'input_required');

    await rejectsWith(
      client.sendMessage(request({ data: { approved: 'x' } }, { taskId: asked.id })),
      -32602,
      /schema.*approved/,
    );
    const still = await client.getTask({ tenant: '', id: asked.id });
    assert.equal(still.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED, 'a refused answer changes nothing');
    assert.deepEqual(statusParts(still).data, data);
    assert.equal(still.history.length, 1, 'the refused answer is not in the history');

    const done = asTask(await client.sendMessage(request({ data: { approved: true } }, { taskId: asked.id })));
    assert.equal(done.id, asked.id);
    assert.equal(done.status?.state, TaskState.TASK_STATE_COMPLETED, 'the blocking answer returns at the end');
    const result = dataOf(done.artifacts[0]?.parts).result as { answer: { approved: boolean } };
    assert.equal(result.answer.approved, true);
    assert.deepEqual(
      done.history.map((message) => message.role),
      [Role.ROLE_USER, Role.ROLE_USER],
      'the tree and the answer',
    );
    assert.deepEqual(dataOf(done.history[1]?.parts), { approved: true });
    assert.deepEqual(effects(), [`${rootId} draft`, `${rootId} publish`], 'the draft step ran once');
    await rejectsWith(client.sendMessage(request({ data: { approved: true } }, { taskId: asked.id })), -32004);
  });

  test(`${kind}: message/stream sees working → input-required (with the question) → working after the reply on another call → completed; a resubscription starts at input-required`, async (t) => {
    const { url, log } = await approvalApp(t);
    const { client } = await clientOf(kind, url);
    const events: StreamResponse[] = [];
    let resubscribed: Promise<StreamResponse[]> | undefined;
    for await (const event of client.sendMessageStream(treeRequest([approval(log, 'Ship it?')]))) {
      events.push(event);
      const payload = event.payload;
      if (payload?.$case !== 'statusUpdate' || payload.value.status?.state !== TaskState.TASK_STATE_INPUT_REQUIRED)
        continue;
      if (resubscribed) continue;
      const taskId = payload.value.taskId;
      const parts = payload.value.status?.message?.parts ?? [];
      assert.equal(parts[0]?.content?.$case, 'text');
      assert.equal(parts[0]?.content?.value, 'Ship it?');
      assert.deepEqual(dataOf(parts, 1), { task_id: dataOf(parts, 1).task_id, prompt: 'Ship it?', schema: SCHEMA });
      assert.equal(dataOf(parts, 2).type, 'task_waiting', 'the event follows the question');
      const again = client.resubscribeTask({ tenant: '', id: taskId });
      const first = await again.next();
      assert.equal(first.value?.payload?.$case, 'task');
      const current = first.value.payload.value;
      assert.equal(current.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
      assert.equal(statusParts(current).data[0]?.prompt, 'Ship it?');
      resubscribed = (async () => {
        const rest: StreamResponse[] = [];
        for await (const later of again) rest.push(later);
        return rest;
      })();
      const answered = asTask(
        await client.sendMessage(
          request({ text: '{"approved": true, "note": "ok"}' }, { taskId, configuration: { returnImmediately: true } }),
        ),
      );
      assert.notEqual(answered.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED, 'answered at once');
    }
    const states = statesOf(events);
    const asked = states.indexOf(TaskState.TASK_STATE_INPUT_REQUIRED);
    assert.ok(asked > 0, `input-required comes: ${states.join(',')}`);
    assert.ok(states.slice(1, asked).includes(TaskState.TASK_STATE_WORKING), 'working before the question');
    assert.ok(states.slice(asked + 1, -1).includes(TaskState.TASK_STATE_WORKING), 'working after the answer');
    assert.equal(states.at(-1), TaskState.TASK_STATE_COMPLETED);
    const artifact = events.find((event) => event.payload?.$case === 'artifactUpdate')?.payload;
    assert.equal(artifact?.$case, 'artifactUpdate');
    const result = dataOf(artifact.value.artifact?.parts).result as { answer: { approved: boolean; note: string } };
    assert.deepEqual(result.answer, { approved: true, note: 'ok' }, 'the text answer was read as JSON');
    assert.equal(statesOf((await resubscribed) ?? []).at(-1), TaskState.TASK_STATE_COMPLETED);
  });

  test(`${kind}: push notifications carry input-required with the question, then working and completed after the answer`, async (t) => {
    const { url, log } = await approvalApp(t, { a2a: { push: { allow_hosts: ['127.0.0.1'] } } });
    const hook = await httpReceiver(t);
    const { client } = await clientOf(kind, url);
    const configuration = { returnImmediately: true, taskPushNotificationConfig: { url: hook.url } };
    const started = asTask(await client.sendMessage(treeRequest([approval(log, 'Pushed?')], { configuration })));
    const stateOf = (body: Record<string, unknown>) => {
      const update = (kind === '1.0' ? body.statusUpdate : body.kind === 'status-update' ? body : undefined) as
        { status: { state: string; message?: { parts: Record<string, unknown>[] } } } | undefined;
      return update?.status;
    };
    const askedAt = await eventually(() => {
      const i = hook.delivered().findIndex((body) => /input.required/i.test(stateOf(body)?.state ?? ''));
      return i >= 0 && i + 1;
    });
    const question = stateOf(hook.delivered()[askedAt - 1] as Record<string, unknown>);
    assert.equal(JSON.stringify(question?.message?.parts).includes('Pushed?'), true, 'the question is pushed');
    await client.sendMessage(request({ data: { approved: true } }, { taskId: started.id }));
    const states = await eventually(() => {
      const seen = hook.delivered().flatMap((body) => stateOf(body)?.state ?? []);
      return /completed/i.test(seen.at(-1) ?? '') && seen;
    });
    const asked = states.findIndex((state) => /input.required/i.test(state));
    assert.ok(
      states.slice(asked + 1).some((state) => /working/i.test(state)),
      `working after: ${states.join(',')}`,
    );
  });
}

for (const db of testDatabases()) {
  test(`${db.name}: several open questions: a bare answer is refused; {task_id, input} answers one, the task stays input-required; the text of the last completes it`, async (t) => {
    const { url, log, effects } = await approvalApp(t, { database: { url: await db.create(t) } });
    const { client } = await clientOf('1.0', url);
    const tree = [
      { name: 'both', schemas: { method: 'echo' }, inputs: { done: true } },
      approval(log, 'First?', { parent_id: 'both', name: 'first' }),
      approval(log, 'Second?', { parent_id: 'both', name: 'second' }),
    ];
    let task = asTask(await client.sendMessage(treeRequest(tree)));
    assert.equal(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    // A blocking send returns at the first question; the second is asked soon after.
    task = await eventually(async () => {
      const now = await client.getTask({ tenant: '', id: task.id });
      return statusParts(now).data.length === 2 && now;
    });
    const { texts, data } = statusParts(task);
    const [first, second] = data.map((question) => String(question.task_id));
    assert.deepEqual(texts, [`task ${first}: First?\ntask ${second}: Second?`]);
    await rejectsWith(
      client.sendMessage(request({ data: { approved: true } }, { taskId: task.id })),
      -32602,
      /2 answers/,
    );
    await rejectsWith(
      client.sendMessage(request({ data: { task_id: 'nope', input: { approved: true } } }, { taskId: task.id })),
      -32602,
      /open questions/,
    );
    const one = asTask(
      await client.sendMessage(request({ data: { task_id: first, input: { approved: true } } }, { taskId: task.id })),
    );
    assert.equal(one.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED, 'the other question is still open');
    assert.deepEqual(
      statusParts(one).data.map((question) => question.task_id),
      [second],
    );
    const done = asTask(await client.sendMessage(request({ text: '{"approved": true}' }, { taskId: task.id })));
    assert.equal(done.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.deepEqual(dataOf(done.artifacts[0]?.parts).result, { done: true });
    assert.equal(effects().filter((line) => line.endsWith('publish')).length, 2);
  });
}

test('a message without a tree is still input-required asking for one: a text-only status message and no tree', async (t) => {
  const { url } = await approvalApp(t);
  const { client } = await clientOf('1.0', url);
  const task = asTask(await client.sendMessage(request({ text: 'hello' })));
  assert.equal(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
  const { texts, data } = statusParts(task);
  assert.match(texts[0] ?? '', /"tasks"/);
  assert.deepEqual(data, [], 'no question of a task');
  assert.equal(task.metadata?.root_task_id, undefined);
});

test("with auth on, only the task's owner answers its question: another user's answer is a task not found, and the answer records who gave it", async (t) => {
  const { app, url, log } = await approvalApp(t, { auth: { jwt_secret: 'a2a-input-required-test-secret-0123456789' } });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const as = async (user: string) => ({
    'a2a-version': '1.0',
    authorization: `Bearer ${await jwt.mint(user, [], '1h')}`,
  });
  const send = async (user: string, parts: unknown[], taskId?: string) => {
    const message = { messageId: randomUUID(), role: 'ROLE_USER', parts, ...(taskId ? { taskId } : {}) };
    const answer = await rpc(
      url,
      '/',
      { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message } },
      await as(user),
    );
    return answer.body as { result?: { task: { id: string; status: { state: string } } }; error?: { code: number } };
  };
  const asked = (await send('alice', [{ data: { tasks: [approval(log, 'Alice only?')] } }])).result?.task;
  assert.equal(asked?.status.state, 'TASK_STATE_INPUT_REQUIRED');
  const taskId = String(asked?.id);
  assert.equal((await send('bob', [{ data: { approved: true } }], taskId)).error?.code, -32001);
  const rootId = String((asked as { metadata?: { root_task_id?: string } }).metadata?.root_task_id);
  assert.equal((await app.tasks.get(rootId))?.status, 'input_required', "bob's answer changed nothing");
  const done = (await send('alice', [{ data: { approved: true } }], taskId)).result?.task;
  assert.equal(done?.status.state, 'TASK_STATE_COMPLETED');
  const steps = Object.values((await app.tasks.get(rootId))?.steps ?? {});
  assert.ok(
    steps.some((step) => 'answer' in step && step.by === 'alice'),
    'the answer is recorded as alice’s',
  );
});

test('cancelTask on a task waiting for an answer cancels its tree; a later answer is refused', async (t) => {
  const { app, url, log } = await approvalApp(t);
  const { client } = await clientOf('1.0', url);
  const asked = asTask(await client.sendMessage(treeRequest([approval(log, 'Cancel me?')])));
  assert.equal(asked.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
  const canceled = await client.cancelTask({ tenant: '', id: asked.id, metadata: undefined });
  assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
  assert.equal((await app.tasks.get(String(asked.metadata?.root_task_id)))?.status, 'cancelled');
  await rejectsWith(client.sendMessage(request({ data: { approved: true } }, { taskId: asked.id })), -32004);
});
