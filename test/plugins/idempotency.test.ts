import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { runs } from '../fixtures/executors/_runs.ts';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { join } from 'node:path';
import { rpc, tempProject } from '../helpers.ts';
import { probePlugin, server, sleepTree, streamed, type Json } from './idempotency-setup.ts';
import { asTask, clientOf, KINDS, rejectsWith, treeRequest } from './a2a-setup.ts';

const key = (value: string) => ({ 'idempotency-key': value });

for (const db of testDatabases()) {
  test(`${db.name}: tasks.create, tasks.execute and execute_task_tree with one key twice answer the first answer and make one tree (header and param)`, async (t) => {
    const { ok, trees } = await server(t, await db.create(t));
    const tree = [{ name: 'created once', schemas: { method: 'echo' }, inputs: { n: 1 } }];
    const created = await ok('tasks.create', { tasks: tree }, { headers: key('create-1') });
    assert.deepEqual(await ok('tasks.create', { tasks: tree }, { headers: key('create-1') }), created);
    // The param form, the key order in the params no matter.
    const param = { tasks: tree, idempotency_key: 'create-2' };
    const other = await ok('tasks.create', param);
    assert.notEqual(other.id, created.id, 'another key, another tree');
    assert.deepEqual(await ok('tasks.create', { idempotency_key: 'create-2', tasks: tree }), other);
    // The header and the param with the same key are one request.
    assert.deepEqual(await ok('tasks.create', param, { headers: key('create-2') }), other);
    assert.equal(await trees(), 2);

    const run = { tasks: sleepTree('run once', 20), idempotency_key: 'execute-1' };
    const executed = await ok<Json>('tasks.execute', run);
    assert.equal(executed.status, 'completed');
    assert.deepEqual(await ok('tasks.execute', run), executed);
    const stored = { task_id: created.id };
    const again = await ok<Json>('tasks.execute', stored, { headers: key('execute-2') });
    assert.deepEqual(await ok('tasks.execute', stored, { headers: key('execute-2') }), again);
    assert.equal(
      runs().filter((entry) => entry.task === executed.root_task_id).length,
      1,
      'the executor ran once for two calls',
    );

    const viaRoot = { tasks: sleepTree('tree once', 20) };
    const first = await ok('execute_task_tree', viaRoot, { path: '/', headers: key('tree-1') });
    assert.deepEqual(await ok('execute_task_tree', viaRoot, { path: '/', headers: key('tree-1') }), first);
    assert.equal(await trees(), 4, 'create x2, execute with tasks, execute_task_tree');
  });

  test(`${db.name}: the same key with a different request is a conflict naming it; bad keys are invalid params`, async (t) => {
    const { url, ok, fails, trees } = await server(t, await db.create(t));
    await ok('tasks.create', { tasks: sleepTree('a'), idempotency_key: 'k' });
    const changed = await fails(-32005, 'tasks.create', { tasks: sleepTree('b'), idempotency_key: 'k' });
    assert.match(
      changed.message,
      /idempotency key 'k' was used with a different request \(tasks\.create with other params\)/,
    );
    const method = await fails(-32005, 'tasks.execute', { tasks: sleepTree('a') }, { headers: key('k') });
    assert.match(
      method.message,
      /idempotency key 'k' was used with a different request \(first tasks\.create, now tasks\.execute\)/,
    );
    assert.equal(await trees(), 1);

    const long = 'x'.repeat(256);
    const tooLong = await fails(-32602, 'tasks.create', sleepTree('c'), { headers: key(long) });
    assert.match(
      tooLong.message,
      /Idempotency-Key header must be a string of 1 to 255 characters \(got 256 characters\)/,
    );
    await fails(-32602, 'tasks.create', { tasks: sleepTree('c'), idempotency_key: long });
    await fails(-32602, 'tasks.execute', { tasks: sleepTree('c'), idempotency_key: '' });
    const empty = await fails(-32602, 'tasks.create', sleepTree('c'), { headers: key('') });
    assert.match(empty.message, /got an empty string/);
    const differ = await fails(
      -32602,
      'tasks.create',
      { tasks: sleepTree('c'), idempotency_key: 'p' },
      { headers: key('h') },
    );
    assert.match(differ.message, /header and params\.idempotency_key differ/);
    // The header names one call: a batch gives each call its own key.
    const batch = await rpc(
      url,
      '/tasks',
      [{ jsonrpc: '2.0', id: 1, method: 'tasks.create', params: sleepTree('d') }],
      key('b'),
    );
    const [refused] = batch.body as unknown as { error?: { code: number; message: string } }[];
    assert.equal(refused?.error?.code, -32602);
    assert.match(refused?.error?.message ?? '', /Idempotency-Key header names one call, not a batch/);
    assert.equal(await trees(), 1, 'nothing made by a refused key');
  });

  test(`${db.name}: the caller's error is answered again to a retry; a key is the user's own`, async (t) => {
    const { ok, fails, trees, token } = await server(t, await db.create(t), { auth: true });
    const alice = await token('alice');
    const bob = await token('bob');
    const missing = await fails(-32004, 'tasks.execute', { task_id: 'later' }, { headers: { ...alice, ...key('e') } });
    await ok('tasks.create', [{ id: 'later', name: 'later', schemas: { method: 'echo' } }], { headers: alice });
    const replayed = await fails(-32004, 'tasks.execute', { task_id: 'later' }, { headers: { ...alice, ...key('e') } });
    assert.deepEqual(replayed, missing, 'the first answer, though the task exists now');
    assert.equal((await ok<Json>('tasks.execute', { task_id: 'later' }, { headers: alice })).status, 'completed');

    const tree = { tasks: sleepTree('mine', 10), idempotency_key: 'shared' };
    const forAlice = await ok<Json>('tasks.execute', tree, { headers: alice });
    const forBob = await ok<Json>('tasks.execute', tree, { headers: bob });
    assert.notEqual(forAlice.root_task_id, forBob.root_task_id, 'two users, one key: two trees');
    assert.deepEqual(await ok('tasks.execute', tree, { headers: bob }), forBob);
    assert.equal(await trees(alice), 2);
    assert.equal(await trees(bob), 1);
  });

  test(`${db.name}: 20 concurrent retries with one key make one tree and get 20 identical answers`, async (t) => {
    const { call, trees } = await server(t, await db.create(t));
    const params = { tasks: sleepTree('concurrent', 200) };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call('tasks.execute', params, { headers: key('twenty') })),
    );
    const results = answers.map((answer) => {
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      return answer.result as Json;
    });
    assert.equal(results[0]?.status, 'completed');
    for (const result of results) assert.deepEqual(result, results[0]);
    assert.equal(await trees(), 1);
    assert.equal(runs().filter((entry) => entry.task === results[0]?.root_task_id).length, 1);
  });

  test(`${db.name}: a streamed execute retried with its key follows the same run again from its first event`, async (t) => {
    const { url, trees } = await server(t, await db.create(t));
    const params = { tasks: sleepTree('streamed', 50), use_streaming: true, idempotency_key: 's' };
    const first = await streamed(url, 'tasks.execute', params);
    const root = (first.first.result as Json).root_task_id;
    assert.equal(first.events.at(-1)?.type, 'stream_end');
    assert.ok(first.events.some((event) => event.type === 'final' && event.root_task_id === root));
    const retried = await streamed(url, 'tasks.execute', params);
    assert.deepEqual(retried, first, 'the same envelope and the same events');
    assert.equal(await trees(), 1);
  });
  test(`${db.name}: a first request that failed inside leaves its key unused; a key older than 24 h is a new key`, async (t) => {
    const plugin = join(tempProject(t, { 'probe.ts': probePlugin }), 'probe.ts');
    const { app, ok, fails, trees } = await server(t, await db.create(t), { plugins: [plugin] });
    const probe = (fail: boolean) => ({ key: 'probe', fail });
    await fails(-32603, 'probe.once', probe(true), { path: '/system' });
    assert.deepEqual(await ok('probe.once', probe(false), { path: '/system' }), { runs: 2 }, 'the retry did the work');
    assert.deepEqual(await ok('probe.once', probe(true), { path: '/system' }), { runs: 2 }, 'then answered, not run');

    const params = { tasks: sleepTree('aged', 5), idempotency_key: 'aged' };
    const first = await ok<Json>('tasks.execute', params);
    const { sql } = app.storage;
    const dayAgo = new Date(Date.now() - 25 * 60 * 60_000).toISOString();
    await sql.run(`UPDATE apflow_idempotency_keys SET created_at = ${sql.time} WHERE idempotency_key = ?`, [
      dayAgo,
      'aged',
    ]);
    const second = await ok<Json>('tasks.execute', params);
    assert.notEqual(second.root_task_id, first.root_task_id, 'the expired key ran a new tree');
    assert.deepEqual(await ok('tasks.execute', params), second);
    assert.equal(await trees(), 2);
  });

  for (const kind of KINDS) {
    test(`${db.name}: A2A ${kind} message sends with one messageId (concurrent and later) start one task and one tree`, async (t) => {
      const { url, trees } = await server(t, await db.create(t));
      const { client, wire } = await clientOf(kind, url);
      const request = treeRequest(sleepTree('a2a once', 100));
      const sends = await Promise.all(Array.from({ length: 5 }, () => client.sendMessage(request)));
      const later = await client.sendMessage(request);
      for (const task of [...sends, later].map(asTask)) {
        assert.equal(task.id, asTask(later).id, 'one A2A task');
        assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED, 'blocking sends answer once the tree ended');
      }
      assert.equal(await trees(), 1);
      assert.ok(wire.every((entry) => entry.method === (kind === '1.0' ? 'SendMessage' : 'message/send')));

      const changed = treeRequest(sleepTree('another', 10));
      assert.ok(changed.message && request.message);
      changed.message.messageId = request.message.messageId;
      await rejectsWith(client.sendMessage(changed), -32602, /was already sent with a different message/);
      assert.equal(await trees(), 1);
    });
  }
}

test(
  'two servers on one PostgreSQL database: concurrent retries split across them make one tree',
  { skip: !postgresAdminUrl && 'APFLOW_TEST_POSTGRES_URL is not set' },
  async (t) => {
    const postgres = testDatabases().find((db) => db.name === 'postgres');
    assert.ok(postgres);
    const database = await postgres.create(t);
    const one = await server(t, database);
    const two = await server(t, database);
    const params = { tasks: sleepTree('two servers', 200), idempotency_key: 'split' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).ok<Json>('tasks.execute', params)),
    );
    for (const answer of answers) assert.deepEqual(answer, answers[0]);
    assert.equal(answers[0]?.status, 'completed');
    assert.equal(await one.trees(), 1);
    assert.equal(runs().filter((entry) => entry.task === answers[0]?.root_task_id).length, 1);
  },
);
