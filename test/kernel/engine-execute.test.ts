import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { testDatabases } from '../databases.ts';
import { started, eventually } from '../helpers.ts';
import { aborted, counters, runs } from '../fixtures/executors/_runs.ts';
import { engineApp, runTree } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('cancel stops a running subtree: executors see the abort, the tree ends cancelled', async (t) => {
      const app = await engineApp(t, await db.create(t));
      aborted().clear();
      const tree = await app.engine.createTree([
        { id: 'root', name: 'root', schemas: { method: 'noop' } },
        { id: 'h1', name: 'h1', parent_id: 'root', schemas: { method: 'hang' } },
        { id: 'h2', name: 'h2', parent_id: 'root', schemas: { method: 'hang' } },
      ]);
      const events: TaskEvent[] = [];
      app.engine.subscribe((event) => events.push(event));
      const since = Date.now();
      const { done } = started(await app.engine.execute(tree.id));
      const children = (tree.children ?? []).map((child) => child.id);
      // Their executors started (a claim is committed before its executor is launched).
      const began = (id: string) =>
        runs().some((run) => run.task === id && run.executor === 'hang' && run.start >= since);
      await eventually(() => children.every(began));
      const results = await app.engine.cancel([tree.id]);
      assert.deepEqual(results, [{ task_id: tree.id, status: 'cancelled', message: 'Cancelled by user' }]);
      const outcome = await done;
      assert.equal(outcome.status, 'cancelled');
      for (const id of children) assert.ok(aborted().has(id), `executor of ${id} was aborted`);
      for (const row of await app.tasks.tree(tree.id)) {
        assert.equal(row.status, 'cancelled');
        assert.equal(row.error, 'Cancelled by user');
      }
      assert.equal(events.filter((event) => event.type === 'task_cancelled').length, 3);
      assert.equal(events.at(-1)?.type, 'final');
      const again = await app.engine.cancel([tree.id, 'no-such-task']);
      assert.deepEqual(again, [
        {
          task_id: tree.id,
          status: 'failed',
          message: `Task ${tree.id} is already cancelled, cannot cancel`,
          current_status: 'cancelled',
        },
        { task_id: 'no-such-task', status: 'failed', message: 'Task no-such-task not found', error: 'Task not found' },
      ]);
    });

    test('a cancel as soon as the claims show: the tasks end cancelled, none runs on, their slots are free', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const ids = Array.from({ length: 8 }, (_, i) => `e${i}`);
      const tree = await app.engine.createTree([
        { id: 'er', name: 'er', schemas: { method: 'noop' } },
        ...ids.map((id) => ({ id, name: id, parent_id: 'er', schemas: { method: 'hang' } })),
      ]);
      const { done } = started(await app.engine.execute(tree.id));
      // A claim may be seen before its executor is launched: the cancel can come in between.
      await eventually(async () => (await app.tasks.getMany(ids)).some((row) => row.status === 'in_progress'), 10_000);
      await app.engine.cancel([tree.id]);
      assert.equal((await done).status, 'cancelled');
      const running = async () =>
        (JSON.parse((await app.inject({ method: 'GET', url: '/health' })).body) as { tasks: { running: number } }).tasks
          .running;
      await eventually(async () => (await running()) === 0, 10_000);
      for (const row of await app.tasks.tree(tree.id)) assert.equal(row.status, 'cancelled', row.id);
    });

    test('executing a finished tree runs its failed and completed tasks again; running trees refuse a second run', async (t) => {
      const app = await engineApp(t, await db.create(t));
      counters().clear();
      const first = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' }, dependencies: ['f'] },
        { id: 'f', name: 'f', parent_id: 'r', schemas: { method: 'flaky' }, inputs: { failures: 1 } },
        { id: 's', name: 's', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 300 } },
      ]);
      assert.equal(first.outcome.status, 'failed');
      const { done } = started(await app.engine.execute(first.tree.id));
      assert.deepEqual(await app.engine.execute(first.tree.id), {
        started: false,
        root_task_id: first.tree.id,
        task_id: first.tree.id,
      });
      const second = await done;
      assert.equal(second.status, 'completed');
      for (const row of await app.tasks.tree(first.tree.id)) assert.equal(row.status, 'completed');
      await assert.rejects(app.engine.execute('missing-id'), /Task missing-id not found/);
    });

    test('trees created and run at the same moment share transactions, and each gets its own answer', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const heard: TaskEvent[] = [];
      app.engine.subscribe((event) => heard.push(event));
      // Forty single-task trees and a three-task one, all at once; two of them ask for the same id.
      const creations = await Promise.allSettled([
        ...Array.from({ length: 40 }, (_, i) =>
          app.engine.createTree([{ id: `job-${i}`, name: `job ${i}`, schemas: { method: 'noop' }, inputs: { n: i } }]),
        ),
        app.engine.createTree([{ id: 'same', name: 'first', schemas: { method: 'noop' } }]),
        app.engine.createTree([{ id: 'same', name: 'second', schemas: { method: 'noop' } }]),
        app.engine.createTree([
          { id: 'big', name: 'big', schemas: { method: 'noop' } },
          { id: 'big-a', name: 'a', parent_id: 'big', schemas: { method: 'sleep' }, inputs: { ms: 200 } },
          { id: 'big-b', name: 'b', parent_id: 'big', schemas: { method: 'noop' }, dependencies: ['big-a'] },
        ]),
      ]);
      assert.deepEqual(
        creations.filter((each) => each.status === 'rejected'),
        [],
        'every tree is stored',
      );
      const ids = creations.map((each) => (each as PromiseFulfilledResult<{ id: string }>).value.id);
      assert.equal(
        ids.filter((id) => id === 'same').length,
        1,
        'a given id taken by a tree created at the same time gets a fresh UUID',
      );
      assert.equal(new Set(ids).size, ids.length);
      // Every run at once, plus a second run of a tree starting now and a run of a missing task.
      const starts = await Promise.allSettled([...ids, 'big', 'nowhere'].map((id) => app.engine.execute(id)));
      const failures = starts.flatMap((each) =>
        each.status === 'rejected'
          ? [(each.reason as Error).message]
          : each.value.started
            ? []
            : [`Task ${each.value.root_task_id} is already running`],
      );
      assert.deepEqual(failures.sort(), ['Task big is already running', 'Task nowhere not found']);
      const outcomes = await Promise.all(
        starts.flatMap((each) => (each.status === 'fulfilled' && each.value.started ? [each.value.done] : [])),
      );
      assert.equal(outcomes.length, ids.length);
      for (const outcome of outcomes) assert.equal(outcome.status, 'completed', outcome.root_task_id);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.root_task_id).sort(),
        [...ids].sort(),
        'each run answers with its own tree',
      );
      for (const id of ids) {
        const events = await app.tasks.events(id);
        assert.deepEqual(
          events.map((event) => event.seq),
          events.map((_, i) => i + 1),
          `${id}: seq without gaps`,
        );
        assert.equal(events.filter((event) => event.type === 'final').length, 1, `${id}: one final event`);
        assert.deepEqual(
          heard.filter((event) => event.root_task_id === id),
          events,
          `${id}: announced as logged`,
        );
      }
      assert.deepEqual((await app.tasks.get('job-7'))?.result, { ok: true });
    });

    test('executing one child runs it and its dependencies only', async (t) => {
      const app = await engineApp(t, await db.create(t));
      runs().length = 0;
      const tree = await app.engine.createTree([
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        { id: 'dep', name: 'dep', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 1 } },
        {
          id: 'target',
          name: 'target',
          parent_id: 'r',
          schemas: { method: 'sleep' },
          inputs: { ms: 1 },
          dependencies: ['dep'],
        },
        { id: 'other', name: 'other', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 1 } },
      ]);
      const target = (tree.children ?? []).find((child) => child.name === 'target');
      assert.ok(target);
      const run = started(await app.engine.execute(target.id));
      const outcome = await run.done;
      assert.equal(outcome.task_id, target.id);
      assert.equal(outcome.status, 'completed');
      const ran = new Set(runs().map((r) => r.task));
      const byName = new Map((await app.tasks.tree(tree.id)).map((row) => [row.name, row]));
      assert.ok(ran.has(byName.get('dep')?.id as string) && ran.has(target.id));
      assert.ok(!ran.has(byName.get('other')?.id as string));
      assert.equal(byName.get('other')?.status, 'pending');
      assert.equal(byName.get('r')?.status, 'pending');
    });
  });
}
