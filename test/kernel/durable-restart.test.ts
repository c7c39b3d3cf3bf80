// Issue 24, end to end: a task waiting for input or on a timer survives kill -9 of its server.
// Real `apflow serve` processes on one database, JSON-RPC over HTTP, and the durable fixture
// executors, which append every side effect to a file so the test counts them across processes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import {
  call,
  countOf,
  crash,
  createTree,
  durableProject,
  effects,
  executeInBackground,
  getTask,
  startServer,
  treeTasks,
  waitForTask,
  ENDED,
} from './durable-setup.ts';

for (const db of testDatabases()) {
  describe(`durable runs across a restart on ${db.name}`, () => {
    test(
      'kill -9 while a task waits for input, start again, answer over HTTP: the tree completes and no step runs twice',
      { timeout: 90_000 },
      async (t) => {
        const url = await db.create(t);
        const project = durableProject(t);
        const first = await startServer(t, project, url);
        const log = project.log;
        const rootId = await createTree(first.base, [
          { id: 'root', name: 'root', schemas: { method: 'tally' }, inputs: { log } },
          {
            id: 'review',
            name: 'review',
            parent_id: 'root',
            schemas: { method: 'approval' },
            inputs: { log, topic: 'restarts', prompt: 'Publish the draft?' },
          },
        ]);
        void executeInBackground(first.base, rootId);

        const asking = await waitForTask(first.base, 'review', (task) => task.status === 'input_required');
        assert.equal(asking.waiting?.kind, 'input');
        assert.equal(asking.waiting?.prompt, 'Publish the draft?');
        assert.equal(countOf(project, 'draft', 'review'), 1);
        await crash(first);
        assert.equal(countOf(project, 'publish'), 0, 'nothing was published before the answer');

        const second = await startServer(t, project, url);
        const stillAsking = await getTask(second.base, 'review');
        assert.equal(stillAsking.status, 'input_required', 'the question survived the restart');
        assert.equal(stillAsking.waiting?.kind, 'input');

        const answer = await call(second.base, 'tasks.resume', { task_id: 'review', input: { approved: true } });
        assert.deepEqual(answer, { task_id: 'review', status: 'pending', resumed: true });

        const root = await waitForTask(second.base, rootId, (task) => ENDED.has(task.status));
        const tasks = new Map((await treeTasks(second.base, rootId)).map((task) => [task.id, task]));
        assert.equal(root.status, 'completed', JSON.stringify([...tasks.values()]));
        const review = tasks.get('review');
        assert.equal(review?.status, 'completed');
        assert.equal(review?.waiting, undefined, 'a finished task waits for nothing');
        assert.deepEqual(review?.result, {
          draft: { text: 'draft of restarts' },
          answer: { approved: true },
          published: true,
        });
        assert.equal(countOf(project, 'draft', 'review'), 1, 'the step before the question ran once');
        assert.equal(countOf(project, 'publish', 'review'), 1, 'the step after the answer ran once');
        assert.equal(countOf(project, 'tally', 'root'), 1, 'the parent ran once, after its child');
        assert.equal(effects(project).length, 3, JSON.stringify(effects(project)));
      },
    );

    test('a durable sleep across kill -9 and a restart wakes once and finishes', { timeout: 90_000 }, async (t) => {
      const url = await db.create(t);
      const project = durableProject(t);
      const first = await startServer(t, project, url);
      const rootId = await createTree(first.base, [
        { id: 'napper', name: 'napper', schemas: { method: 'nap' }, inputs: { log: project.log, s: 3 } },
      ]);
      void executeInBackground(first.base, rootId);

      const asleep = await waitForTask(first.base, rootId, (task) => task.waiting?.kind === 'sleep');
      await crash(first);
      assert.equal(asleep.status, 'pending', 'a task waiting on a timer is pending');
      assert.ok(asleep.waiting?.until, 'the wait says when it ends');
      assert.equal(countOf(project, 'before', rootId), 1);
      assert.equal(countOf(project, 'after', rootId), 0, 'the server was killed while the task slept');

      const second = await startServer(t, project, url);
      const done = await waitForTask(second.base, rootId, (task) => ENDED.has(task.status));
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.waiting, undefined);
      const late = (done.result as { late_ms?: unknown } | null)?.late_ms;
      assert.ok(typeof late === 'number' && late >= 0, `it did not wake before its time (late_ms: ${String(late)})`);
      assert.equal(countOf(project, 'before', rootId), 1, 'the step before the sleep ran once');
      assert.equal(countOf(project, 'after', rootId), 1, 'the task woke once');
    });
  });
}
