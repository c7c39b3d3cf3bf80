// Issue 24, end to end: tasks.cancel reaches tasks that wait (for input, on a timer, on the
// children they spawned). Real `apflow serve` processes, JSON-RPC over HTTP, and the durable
// fixture executors, which append every side effect to a file the test reads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import {
  attempt,
  call,
  countOf,
  createTree,
  durableProject,
  executeInBackground,
  getTask,
  startServer,
  treeTasks,
  waitForTask,
  ENDED,
  type DurableServer,
} from './durable-setup.ts';

/** tasks.cancel of one task; returns its result entry. */
async function cancel(server: DurableServer, id: string): Promise<{ task_id: string; status: string }> {
  const [result] = await call<{ task_id: string; status: string }[]>(server.base, 'tasks.cancel', { task_ids: [id] });
  assert.ok(result);
  return result;
}

/** The JSON-RPC code of APF_CONFLICT (kernel/errors/error-catalogue.ts). */
const CONFLICT = -32005;

for (const db of testDatabases()) {
  describe(`cancel of waiting tasks on ${db.name}`, () => {
    test('a task waiting for input is cancelled; answering it then is a conflict', { timeout: 90_000 }, async (t) => {
      const project = durableProject(t);
      const server = await startServer(t, project, await db.create(t));
      const rootId = await createTree(server.base, [
        { id: 'ask', name: 'ask', schemas: { method: 'approval' }, inputs: { log: project.log } },
      ]);
      // A blocking tasks.execute answers once the run stops to ask (the tree goes on waiting).
      const asked = await call<{ status: string; waiting?: { task_id: string }[] }>(server.base, 'tasks.execute', {
        task_id: rootId,
      });
      assert.equal(asked.status, 'input_required', JSON.stringify(asked));
      assert.deepEqual(
        asked.waiting?.map((question) => question.task_id),
        [rootId],
      );
      await waitForTask(server.base, rootId, (task) => task.status === 'input_required');

      assert.equal((await cancel(server, rootId)).status, 'cancelled');
      const cancelled = await waitForTask(server.base, rootId, (task) => ENDED.has(task.status));
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.waiting, undefined, 'a cancelled task waits for nothing');

      const late = await attempt(server.base, 'tasks.resume', { task_id: rootId, input: { approved: true } });
      assert.equal(late.error?.code, CONFLICT, JSON.stringify(late));
      assert.match(late.error?.message ?? '', /not waiting for input/);
      assert.equal((await getTask(server.base, rootId)).status, 'cancelled', 'still cancelled');
      assert.equal(countOf(project, 'draft', rootId), 1);
      assert.equal(countOf(project, 'publish', rootId), 0, 'the answer refused, nothing was published');
    });

    test('a sleeping task is cancelled and never wakes', { timeout: 90_000 }, async (t) => {
      const project = durableProject(t);
      const server = await startServer(t, project, await db.create(t));
      const nap = (id: string) => [{ id, name: id, schemas: { method: 'nap' }, inputs: { log: project.log, s: 2 } }];
      const rootId = await createTree(server.base, nap('sleeper'));
      void executeInBackground(server.base, rootId);
      const asleep = await waitForTask(server.base, rootId, (task) => task.waiting?.kind === 'sleep');

      assert.equal((await cancel(server, rootId)).status, 'cancelled');
      // A second nap begun after the cancel wakes after the first one's time: once it has
      // finished, the cancelled timer has had its chance to fire.
      const witness = await createTree(server.base, nap('witness'));
      void executeInBackground(server.base, witness);
      const woke = await waitForTask(server.base, witness, (task) => ENDED.has(task.status));
      assert.equal(woke.status, 'completed');
      assert.ok(Date.parse(woke.completed_at ?? '') > Date.parse(asleep.waiting?.until ?? ''));

      const sleeper = await getTask(server.base, rootId);
      assert.equal(sleeper.status, 'cancelled');
      assert.equal(sleeper.waiting, undefined);
      assert.equal(countOf(project, 'before', rootId), 1);
      assert.equal(countOf(project, 'after', rootId), 0, 'the cancelled task never woke');
      assert.equal(countOf(project, 'after', witness), 1);
    });

    test('cancelling a parent waiting on running spawned children cancels them all', { timeout: 90_000 }, async (t) => {
      const project = durableProject(t);
      const server = await startServer(t, project, await db.create(t));
      const fan = (id: string, n: number) => [
        { id, name: id, schemas: { method: 'fan-out' }, inputs: { log: project.log, n, ms: 2000 } },
      ];
      const rootId = await createTree(server.base, fan('fan', 4));
      const run = executeInBackground(server.base, rootId);
      await waitForTask(server.base, rootId, (task) => task.waiting?.kind === 'children');
      const running = await waitForTask(server.base, rootId, () => countOf(project, 'tally') === 4);
      const children = running.waiting?.task_ids ?? [];
      assert.equal(children.length, 4);

      assert.equal((await cancel(server, rootId)).status, 'cancelled');
      const answer = (await run) as { result?: { status: string } };
      assert.equal(answer.result?.status, 'cancelled');
      // A fan-out begun after the cancel, with children as slow: once it has resumed, the
      // cancelled children's executors have returned too, and the cancelled parent had its chance.
      const witness = await createTree(server.base, fan('witness', 1));
      await call(server.base, 'tasks.execute', { task_id: witness });
      assert.equal(countOf(project, 'resumed', witness), 1);

      const tasks = await treeTasks(server.base, rootId);
      assert.equal(tasks.length, 5);
      assert.deepEqual(
        tasks.map((task) => [task.id, task.status]),
        tasks.map((task) => [task.id, 'cancelled']),
        'the parent and every child cancelled',
      );
      assert.deepEqual(new Set(tasks.filter((task) => task.id !== rootId).map((task) => task.id)), new Set(children));
      assert.ok(tasks.every((task) => task.waiting === undefined));
      assert.equal(countOf(project, 'run', rootId), 1, 'the cancelled parent did not run again');
      assert.equal(countOf(project, 'resumed', rootId), 0, 'nor resume');
    });
  });
}
