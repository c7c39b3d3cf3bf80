// A tree's outcome beyond its root's status: the `final` event counts the run's tasks per status
// (live and replayed from the log), and `tasks.get` of a root counts its whole tree.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createApp, toTaskJson, type App, type TaskCounts, type TaskEvent } from 'apflow';
import { testDatabases } from '../databases.ts';
import { eventually, memoryLog, repoRoot, rpc, started } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

async function server(t: TestContext, url: string): Promise<{ app: App; base: string }> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: {
      database: { url },
      executors: { dirs: [fixtures] },
      examples: { auto_init: false },
      log: { level: 'warn' },
    },
  });
  t.after(() => app.close());
  const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

const counts = (given: Partial<TaskCounts>): TaskCounts => ({
  total: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  pending: 0,
  in_progress: 0,
  input_required: 0,
  ...given,
});

/** Executes `taskId` and resolves with its run's `final` event, followed from the run's first event. */
async function runToFinal(app: App, taskId: string): Promise<TaskEvent> {
  const run = started(await app.engine.execute(taskId));
  const final = new Promise<TaskEvent>((resolve) => {
    const following = app.engine.follow(run.root_task_id, run.first_seq - 1, (event) => {
      if (event.type !== 'final') return;
      following.stop();
      resolve(event);
    });
  });
  await run.done;
  return final;
}

/** The events `GET /tasks/{id}/events` sends (a finished tree: replayed from the log, then the stream ends). */
async function replayed(base: string, taskId: string): Promise<TaskEvent[]> {
  const response = await fetch(`${base}/tasks/${taskId}/events`);
  assert.equal(response.status, 200);
  const frames = (await response.text()).split('\n').filter((line) => line.startsWith('data: '));
  return frames.map((line) => JSON.parse(line.slice('data: '.length)) as TaskEvent).filter((event) => 'seq' in event);
}

async function taskGet(base: string, method: string, taskId: string): Promise<Record<string, unknown>> {
  const answer = await rpc(base, '/tasks', { jsonrpc: '2.0', id: 1, method, params: { task_id: taskId } });
  assert.equal(answer.status, 200);
  return (answer.body as { result: Record<string, unknown> }).result;
}

for (const db of testDatabases()) {
  describe(`tree outcome counts on ${db.name}`, () => {
    test('a root that completes with 6 of 10 children failed: its final event and tasks.get say so', async (t) => {
      const { app, base } = await server(t, await db.create(t));
      const tree = await app.engine.createTree([
        { id: 'oc-root', name: 'root', schemas: { method: 'noop' } },
        ...Array.from({ length: 10 }, (_, i) => ({
          id: `oc-${i}`,
          name: `child ${i}`,
          parent_id: 'oc-root',
          schemas: { method: i < 6 ? 'fail' : 'noop' },
        })),
      ]);
      const final = await runToFinal(app, tree.id);
      const outcome = counts({ total: 11, completed: 5, failed: 6 });
      assert.equal(final.status, 'completed', 'the root itself completed');
      assert.deepEqual(final.counts, outcome);

      const log = await replayed(base, 'oc-3');
      assert.deepEqual(log.at(-1), final, 'the replayed final is the same event, counts and all');
      assert.equal(log.filter((event) => event.counts !== undefined).length, 1, 'only final events carry counts');

      for (const method of ['tasks.get', 'tasks.detail']) {
        const root = await taskGet(base, method, tree.id);
        assert.equal(root.status, 'completed');
        assert.deepEqual(root.counts, outcome, `${method} of the root counts its tree`);
        const child = await taskGet(base, method, 'oc-0');
        assert.ok(!('counts' in child), `${method} of a child has no counts`);
        const row = await app.tasks.get('oc-0');
        assert.deepEqual(child, JSON.parse(JSON.stringify(toTaskJson(row as NonNullable<typeof row>))));
      }
    });

    test('a run of one task and its dependencies counts its own tasks; tasks.get of the root, the whole tree', async (t) => {
      const { app, base } = await server(t, await db.create(t));
      const tree = await app.engine.createTree([
        { id: 'sc-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'sc-a', name: 'a', parent_id: 'sc-root', schemas: { method: 'noop' } },
        { id: 'sc-bad', name: 'bad', parent_id: 'sc-root', schemas: { method: 'fail' } },
        { id: 'sc-b', name: 'b', parent_id: 'sc-root', schemas: { method: 'noop' }, dependencies: ['sc-a', 'sc-bad'] },
        { id: 'sc-c', name: 'c', parent_id: 'sc-root', schemas: { method: 'noop' } },
        { id: 'sc-d', name: 'd', parent_id: 'sc-root', schemas: { method: 'noop' }, dependencies: ['sc-a'] },
      ]);
      const final = await runToFinal(app, 'sc-b');
      assert.equal(final.task_id, tree.id, "a run's final event names the root");
      assert.deepEqual(final.counts, counts({ total: 3, completed: 1, failed: 2 }), 'a, bad and b only');
      assert.deepEqual(
        (await taskGet(base, 'tasks.get', tree.id)).counts,
        counts({ total: 6, completed: 1, failed: 2, pending: 3 }),
      );

      const again = await runToFinal(app, 'sc-d');
      assert.deepEqual(again.counts, counts({ total: 2, completed: 2 }), 'a and d: the earlier run is not counted');
      assert.deepEqual(
        (await taskGet(base, 'tasks.get', tree.id)).counts,
        counts({ total: 6, completed: 2, failed: 2, pending: 2 }),
      );
    });

    test('trees ending together each get their own counts; a cancelled run counts its cancelled tasks', async (t) => {
      const { app } = await server(t, await db.create(t));
      const trees = await Promise.all(
        Array.from({ length: 8 }, (_, n) =>
          app.engine.createTree([
            { id: `many-${n}`, name: 'root', schemas: { method: 'noop' } },
            ...Array.from({ length: n + 1 }, (_, i) => ({
              id: `many-${n}-${i}`,
              name: `child ${i}`,
              parent_id: `many-${n}`,
              schemas: { method: i < n % 3 ? 'fail' : 'noop' },
            })),
          ]),
        ),
      );
      const finals = await Promise.all(trees.map((tree) => runToFinal(app, tree.id)));
      finals.forEach((final, n) => {
        const failed = n % 3;
        assert.deepEqual(final.counts, counts({ total: n + 2, completed: n + 2 - failed, failed }), `tree ${n}`);
      });

      const stuck = await app.engine.createTree([
        { id: 'stuck', name: 'root', schemas: { method: 'noop' } },
        { id: 'stuck-a', name: 'a', parent_id: 'stuck', schemas: { method: 'hang' } },
        { id: 'stuck-b', name: 'b', parent_id: 'stuck', schemas: { method: 'noop' } },
      ]);
      const run = started(await app.engine.execute(stuck.id));
      const final = new Promise<TaskEvent>((resolve) => {
        const following = app.engine.follow(stuck.id, run.first_seq - 1, (event) => {
          if (event.type !== 'final') return;
          following.stop();
          resolve(event);
        });
      });
      await eventually(async () => {
        const [a, b] = await app.tasks
          .getMany(['stuck-a', 'stuck-b'])
          .then((rows) => ['stuck-a', 'stuck-b'].map((id) => rows.find((row) => row.id === id)?.status));
        return a === 'in_progress' && b === 'completed';
      }, 30_000);
      assert.deepEqual(await app.engine.cancel([stuck.id]), [
        { task_id: stuck.id, status: 'cancelled', message: 'Cancelled by user' },
      ]);
      await run.done;
      const ended = await final;
      assert.equal(ended.status, 'cancelled');
      assert.deepEqual(ended.counts, counts({ total: 3, completed: 1, cancelled: 2 }));
    });
  });
}
