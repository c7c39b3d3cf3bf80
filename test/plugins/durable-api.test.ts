import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, repoRoot, rpc, testApp } from '../helpers.ts';
import { type Json, server } from './tasks-api-setup.ts';

const durable = join(repoRoot, 'test', 'fixtures', 'durable-executors');
const start = (t: Parameters<typeof server>[0], inline?: Record<string, unknown>) =>
  server(t, { dirs: [durable], ...(inline ? { inline } : {}) });
/** Side effects the fixture executors recorded in this process, for one task. */
const effectsOf = (taskId: string) =>
  ((globalThis as { apflowEffects?: string[] }).apflowEffects ?? []).filter((line) => line.startsWith(`${taskId} `));

const approvalTree = (prefix: string, inputs: Json = {}) => [
  { id: `${prefix}root`, name: `${prefix}root`, schemas: { method: 'tally' } },
  { id: `${prefix}ask`, name: `${prefix}ask`, parent_id: `${prefix}root`, schemas: { method: 'approval' }, inputs },
];

test('a task asks, tasks.execute answers input_required, tasks.resume answers it, the steps before are not run again', async (t) => {
  const { ok, fails } = await start(t);
  const first = await ok<Json>('tasks.execute', { tasks: approvalTree('a-', { prompt: 'Publish it?' }) });
  assert.equal(first.status, 'input_required');
  assert.equal(first.root_task_id, 'a-root');
  const [question] = first.waiting as Json[];
  assert.equal(question?.task_id, 'a-ask');
  assert.equal(question?.prompt, 'Publish it?');
  assert.deepEqual((question?.schema as Json).required, ['approved']);

  const waiting = await ok<Json>('tasks.get', { task_id: 'a-ask' });
  assert.equal(waiting.status, 'input_required');
  assert.equal((waiting.waiting as Json).kind, 'input');
  const listed = await ok<Json[]>('tasks.list', { status: 'input_required', root_only: false });
  assert.deepEqual(
    listed.map((task) => task.id),
    ['a-ask'],
  );
  assert.equal((await ok<Json>('tasks.count', {})).input_required, 1);
  const root = await ok<Json>('tasks.get', { task_id: 'a-root' });
  assert.equal(root.status, 'pending', 'the tree stays in progress: its root waits');

  const wrong = await fails('tasks.resume', { task_id: 'a-ask', input: { approved: 'yes' } });
  assert.equal(wrong.code, -32602);
  assert.match(wrong.message, /does not match the question's schema: \/approved/);
  assert.equal((await fails('tasks.resume', { task_id: 'a-ask' })).code, -32602);
  assert.equal((await fails('tasks.resume', { task_id: 'a-root', input: {} })).code, -32005);
  assert.equal((await fails('tasks.resume', { task_id: 'nope', input: {} })).code, -32004);

  assert.deepEqual(await ok('tasks.resume', { task_id: 'a-ask', input: { approved: true, note: 'ship it' } }), {
    task_id: 'a-ask',
    status: 'pending',
    resumed: true,
  });
  const done = await eventually(async () => {
    const task = await ok<Json>('tasks.get', { task_id: 'a-ask' });
    return task.status === 'completed' && task;
  });
  assert.deepEqual((done.result as Json).answer, { approved: true, note: 'ship it' });
  assert.equal(done.waiting, undefined, 'waiting is shown only while a task waits');
  assert.deepEqual(effectsOf('a-ask'), ['a-ask draft', 'a-ask publish']);
  await eventually(async () => (await ok<Json>('tasks.get', { task_id: 'a-root' })).status === 'completed');
  const again = await fails('tasks.resume', { task_id: 'a-ask', input: { approved: true } });
  assert.match(again.message, /not waiting for input \(status: completed\)/);
});

test('a question times out: its default answers, or the task fails saying so', async (t) => {
  const { ok } = await start(t);
  const answered = await ok<Json>('tasks.execute', {
    tasks: [
      {
        id: 'd1',
        name: 'd1',
        schemas: { method: 'approval' },
        inputs: { timeout_s: 1, default: { approved: true, note: 'nobody objected' } },
      },
    ],
  });
  assert.equal(answered.status, 'input_required');
  const completed = await eventually(async () => {
    const task = await ok<Json>('tasks.get', { task_id: 'd1' });
    return task.status === 'completed' && task;
  });
  assert.deepEqual((completed.result as Json).answer, { approved: true, note: 'nobody objected' });

  await ok('tasks.execute', {
    tasks: [{ id: 'd2', name: 'd2', schemas: { method: 'approval' }, inputs: { timeout_s: 1, prompt: 'Sign?' } }],
  });
  const failed = await eventually(async () => {
    const task = await ok<Json>('tasks.get', { task_id: 'd2' });
    return task.status === 'failed' && task;
  });
  assert.match(String(failed.error), /no answer to "Sign\?" within 1s timeout/);
});

test('cancel reaches a task waiting for input; a copy keeps its answers only when asked', async (t) => {
  const { ok, fails } = await start(t);
  await ok('tasks.execute', { tasks: approvalTree('c-') });
  const [cancelled] = await ok<Json[]>('tasks.cancel', { task_ids: ['c-root'] });
  assert.equal(cancelled?.status, 'cancelled');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'c-ask' })).status, 'cancelled');
  assert.equal((await fails('tasks.resume', { task_id: 'c-ask', input: { approved: true } })).code, -32005);

  await ok('tasks.execute', { tasks: approvalTree('k-') });
  await ok('tasks.resume', { task_id: 'k-ask', input: { approved: true, note: 'first' } });
  await eventually(async () => (await ok<Json>('tasks.get', { task_id: 'k-root' })).status === 'completed');

  const kept = await ok<Json>('tasks.copy', { task_id: 'k-root', children: true, keep_answers: true });
  const keptRun = await ok<Json>('tasks.execute', { task_id: kept.id });
  assert.equal(keptRun.status, 'completed', 'the kept answer is replayed: nothing is asked');
  const keptAsk = (kept.children as Json[])[0] as Json;
  assert.deepEqual(((await ok<Json>('tasks.get', { task_id: keptAsk.id })).result as Json).answer, {
    approved: true,
    note: 'first',
  });

  const fresh = await ok<Json>('tasks.copy', { task_id: 'k-root', children: true });
  const freshRun = await ok<Json>('tasks.execute', { task_id: fresh.id });
  assert.equal(freshRun.status, 'input_required', 'a copy asks again by default');
});

test('ctx.map spawns children under the running task; the spawner resumes once with their results', async (t) => {
  const { ok } = await start(t);
  const run = await ok<Json>('tasks.execute', {
    tasks: [{ id: 'f', name: 'f', schemas: { method: 'fan-out' }, inputs: { n: 5 } }],
  });
  assert.deepEqual([run.status, run.result], ['completed', { n: 5, sum: 10, statuses: Array(5).fill('completed') }]);
  const tree = await ok<Json>('tasks.tree', { task_id: 'f' });
  const children = tree.children as Json[];
  assert.equal(children.length, 5);
  assert.ok(children.every((child) => child.status === 'completed' && child.parent_id === 'f'));
  assert.deepEqual(
    effectsOf('f').filter((line) => line.endsWith('resumed')),
    ['f resumed'],
  );

  // A new run starts from the tree as created: the spawner spawns afresh, the old children go.
  const rerun = await ok<Json>('tasks.execute', { task_id: 'f' });
  assert.equal(rerun.status, 'completed');
  const after = (await ok<Json>('tasks.tree', { task_id: 'f' })).children as Json[];
  assert.equal(after.length, 5);
  assert.ok(after.every((child) => !children.some((old) => old.id === child.id)));
});

test('a spawned child that fails fails the spawner unless it tolerates failures; spawns respect max_tree_size', async (t) => {
  const { ok } = await start(t, { engine: { max_tree_size: 6 } });
  const failing = await ok<Json>('tasks.execute', {
    tasks: [{ id: 's1', name: 's1', schemas: { method: 'fan-out' }, inputs: { n: 3, fail: 1 } }],
  });
  assert.equal(failing.status, 'failed');
  assert.match(
    String(failing.error),
    /1 of 3 spawned tasks did not complete: child 1 failed: child 1 failed on purpose/,
  );

  const tolerant = await ok<Json>('tasks.execute', {
    tasks: [{ id: 's2', name: 's2', schemas: { method: 'fan-out' }, inputs: { n: 3, fail: 1, tolerate: true } }],
  });
  assert.equal(tolerant.status, 'completed');
  assert.deepEqual((tolerant.result as Json).statuses, ['completed', 'failed', 'completed']);

  const tooBig = await ok<Json>('tasks.execute', {
    tasks: [
      { id: 'b', name: 'b', schemas: { method: 'tally' } },
      { id: 'b1', name: 'b1', parent_id: 'b', schemas: { method: 'fan-out' }, inputs: { n: 3 } },
      { id: 'b2', name: 'b2', parent_id: 'b', schemas: { method: 'fan-out' }, inputs: { n: 3 } },
    ],
  });
  const [b1, b2] = [await ok<Json>('tasks.get', { task_id: 'b1' }), await ok<Json>('tasks.get', { task_id: 'b2' })];
  assert.equal(tooBig.root_task_id, 'b');
  const refused = [b1, b2].filter((task) => task.status === 'failed');
  assert.equal(refused.length, 1, 'the second spawn would pass engine.max_tree_size (3 + 3 + 3 > 6)');
  assert.match(String(refused[0]?.error), /over engine\.max_tree_size \(6\)/);
});

test('ctx.sleep suspends the task without holding a slot; any task may run meanwhile', async (t) => {
  const { ok } = await start(t, { engine: { concurrency: 1 } });
  await ok('tasks.create', [{ id: 'z', name: 'z', schemas: { method: 'nap' }, inputs: { s: 2 } }]);
  const napping = ok<Json>('tasks.execute', { task_id: 'z' });
  const asleep = await eventually(async () => {
    const task = await ok<Json>('tasks.get', { task_id: 'z' });
    return task.status === 'pending' && (task.waiting as Json | undefined)?.kind === 'sleep' && task;
  });
  assert.ok(Date.parse(String((asleep.waiting as Json).until)) > Date.now());
  // The one slot is free while z sleeps: another tree runs to its end before z wakes.
  const other = await ok<Json>('tasks.execute', { tasks: [{ id: 'o', name: 'o', schemas: { method: 'tally' } }] });
  assert.equal(other.status, 'completed');
  assert.equal((await ok<Json>('tasks.get', { task_id: 'z' })).status, 'pending');
  assert.equal((await napping).status, 'completed');
  assert.deepEqual(effectsOf('z'), ['z before', 'z after']);
});

test("with auth on, a user cannot answer another user's question (it is not found for them)", async (t) => {
  const app = await testApp(t, {
    auth: { jwt_secret: 'durable-api-test-secret-0123456789abcdef' },
    executors: { dirs: [durable] },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const token = { alice: await jwt.mint('alice', [], '1h'), bob: await jwt.mint('bob', [], '1h') };
  const call = async (who: keyof typeof token, method: string, params: unknown) =>
    (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params }, { authorization: `Bearer ${token[who]}` }))
      .body as { result?: Json; error?: { code: number } };
  const asked = await call('alice', 'tasks.execute', {
    tasks: [{ name: 'ask', schemas: { method: 'approval' } }],
  });
  const taskId = String(((asked.result?.waiting as Json[])[0] as Json).task_id);
  assert.equal((await call('bob', 'tasks.resume', { task_id: taskId, input: { approved: true } })).error?.code, -32004);
  assert.equal(
    (await call('alice', 'tasks.resume', { task_id: taskId, input: { approved: true } })).result?.resumed,
    true,
  );
  await eventually(async () => (await call('alice', 'tasks.get', { task_id: taskId })).result?.status === 'completed');
});

test('spawned tasks: secret inputs sealed, results scrubbed; a rerun of a spawner drops what its children spawned; copies leave spawned tasks out', async (t) => {
  const { app, ok } = await start(t);
  const secret = 'hunter2-very-secret-value';
  const run = await ok<Json>('tasks.execute', {
    tasks: [{ id: 'sv', name: 'sv', schemas: { method: 'spawn-vault' }, inputs: { password: secret } }],
  });
  assert.equal(run.status, 'completed');
  const [child] = (await ok<Json>('tasks.tree', { task_id: 'sv' })).children as Json[];
  const stored = JSON.stringify(await app.tasks.get(String(child?.id)));
  assert.ok(!stored.includes(secret), `the spawned task's row holds the secret: ${stored}`);
  assert.deepEqual(child?.result, { echoed: 'pw=***' });

  // root → x (spawns 2 fan-outs, each spawning 3 tallies): 1 + 1 + 2 + 6 tasks.
  await ok('tasks.create', [
    { id: 'nr', name: 'nr', schemas: { method: 'tally' } },
    { id: 'nx', name: 'nx', parent_id: 'nr', schemas: { method: 'fan-out' }, inputs: { n: 2, child: 'fan-out' } },
  ]);
  assert.equal((await ok<Json>('tasks.execute', { task_id: 'nr' })).status, 'completed');
  const count = async () => (await app.tasks.tree('nr')).length;
  assert.equal(await count(), 10);
  const rerun = await app.engine.execute('nx');
  assert.ok(rerun.started);
  assert.equal((await rerun.done).status, 'completed');
  const rows = await app.tasks.tree('nr');
  assert.equal(rows.length, 10, 'the grandchildren of the first run went with their spawners');
  const ids = new Set(rows.map((row) => row.id));
  assert.ok(
    rows.every((row) => row.parent_id === null || ids.has(row.parent_id)),
    'no orphans',
  );

  const mid = rows.find((row) => row.parent_id === 'nx') as { id: string };
  const copy = await ok<Json>('tasks.copy', { task_id: mid.id, children: true });
  assert.equal(copy.children, undefined, 'what the spawned task spawned is not copied: its run spawns it again');
  assert.equal((await ok<Json>('tasks.execute', { task_id: copy.id })).status, 'completed');
  assert.equal((await app.tasks.tree(String(copy.id))).length, 4);
});

test('U+0000 in a step fails the task with a clear message; in an answer it is refused', async (t) => {
  const { ok, fails } = await start(t);
  const failed = await ok<Json>('tasks.execute', {
    tasks: [{ id: 'nul', name: 'nul', schemas: { method: 'nul-step' } }],
  });
  assert.equal(failed.status, 'failed');
  assert.match(String(failed.error), /step 'nul' returned a string holding the character U\+0000/);
  await ok('tasks.execute', { tasks: approvalTree('n-') });
  const refused = await fails('tasks.resume', { task_id: 'n-ask', input: { approved: true, note: 'a\u0000b' } });
  assert.equal(refused.code, -32602);
  assert.match(refused.message, /U\+0000/);
});
