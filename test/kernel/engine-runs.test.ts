import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import { started } from '../helpers.ts';
import { runs } from '../fixtures/executors/_runs.ts';
import { engineApp, runTree } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('dependencies gate tasks, parents run after their children, results merge into inputs', async (t) => {
      const app = await engineApp(t, await db.create(t));
      runs().length = 0;
      const { outcome, rows } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'echo' }, dependencies: ['b'] },
        { id: 'a', name: 'a', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 40, tag: 'A' } },
        {
          id: 'b',
          name: 'b',
          parent_id: 'root',
          schemas: { method: 'sleep' },
          inputs: { ms: 5 },
          dependencies: [{ id: 'a' }],
        },
        {
          id: 'c',
          name: 'c',
          parent_id: 'root',
          schemas: { method: 'sleep', input_schema: { properties: { slept: {} } } },
          dependencies: ['a'],
        },
      ]);
      assert.equal(outcome.status, 'completed');
      const byTask = new Map(runs().map((run) => [run.task.slice(-1), run]));
      const [a, b, c] = ['a', 'b', 'c'].map((id) => rows.get(id) ?? [...rows.values()].find((row) => row.name === id));
      assert.ok(a && b && c);
      const runA = runs().find((run) => run.task === a.id);
      const runB = runs().find((run) => run.task === b.id);
      assert.ok(runA?.end && runB && runB.start >= runA.end, 'b starts after a finished');
      assert.deepEqual(
        b.inputs?.[a.id],
        { slept: 40, task: a.id },
        'no input schema: the whole result under the dependency id',
      );
      assert.equal(c.inputs?.slept, 40, 'input_schema.properties: fields copied by name');
      const root = rows.get(outcome.root_task_id);
      assert.ok(root?.started_at && b.completed_at && Date.parse(root.started_at) >= Date.parse(b.completed_at));
      assert.ok(
        root && c.completed_at && Date.parse(root.started_at as string) >= Date.parse(c.completed_at),
        'the parent waits for every child',
      );
      assert.deepEqual((root?.result as Record<string, unknown>)[b.id], { slept: 5, task: b.id });
      assert.equal(byTask.size > 0, true);
      for (const row of rows.values()) {
        assert.equal(row.status, 'completed');
        assert.equal(row.progress, 1);
        assert.equal(row.error, null);
        assert.ok(row.completed_at);
      }
    });

    test('lower priority numbers run first (0 is the most urgent); concurrency caps parallel runs', async (t) => {
      const app = await engineApp(t, await db.create(t), { concurrency: 1 });
      runs().length = 0;
      const { rows } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'noop' } },
        { id: 'p3', name: 'p3', parent_id: 'root', priority: 3, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p0', name: 'p0', parent_id: 'root', priority: 0, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p1', name: 'p1', parent_id: 'root', priority: 1, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p2', name: 'p2', parent_id: 'root', priority: 2, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ]);
      const order = runs().map((run) => [...rows.values()].find((row) => row.id === run.task)?.name);
      assert.deepEqual(order, ['p0', 'p1', 'p2', 'p3']);
    });

    test('ready tasks run in parallel up to engine.concurrency, and per user up to engine.per_user_concurrency', async (t) => {
      const app = await engineApp(t, await db.create(t), { concurrency: 3, per_user_concurrency: 2 });
      runs().length = 0;
      const leaves = (prefix: string) =>
        Array.from({ length: 6 }, (_, i) => ({
          id: `${prefix}${i}`,
          name: `${prefix}${i}`,
          parent_id: `${prefix}root`,
          schemas: { method: 'sleep' },
          inputs: { ms: 40 },
        }));
      const treeA = await app.engine.createTree(
        [{ id: 'Aroot', name: 'Aroot', schemas: { method: 'noop' } }, ...leaves('A')],
        { userId: 'alice' },
      );
      const treeB = await app.engine.createTree(
        [{ id: 'Broot', name: 'Broot', schemas: { method: 'noop' } }, ...leaves('B')],
        { userId: 'bob' },
      );
      const treeC = await app.engine.createTree(
        [{ id: 'Croot', name: 'Croot', schemas: { method: 'noop' } }, ...leaves('C')],
        { userId: 'alice' },
      );
      const runsOf = await Promise.all(
        [treeA, treeB, treeC].map(async (tree) => started(await app.engine.execute(tree.id))),
      );
      await Promise.all(runsOf.map((run) => run.done));
      const owner = new Map<string, string>();
      for (const tree of [treeA, treeB, treeC])
        for (const row of await app.tasks.tree(tree.id)) owner.set(row.id, row.user_id as string);
      const overlapMax = (filter: (task: string) => boolean) => {
        const marks = runs()
          .filter((run) => filter(run.task))
          .flatMap(
            (run) =>
              [
                [run.start, 1],
                [run.end as number, -1],
              ] as const,
          );
        marks.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        let now = 0;
        let max = 0;
        for (const [, delta] of marks) max = Math.max(max, (now += delta));
        return max;
      };
      assert.equal(runs().length, 18);
      assert.equal(
        overlapMax(() => true),
        3,
        'the global limit is reached and never passed',
      );
      assert.ok(overlapMax((task) => owner.get(task) === 'alice') <= 2, 'alice never runs more than 2 at once');
      assert.ok(overlapMax((task) => owner.get(task) === 'bob') <= 2, 'bob never runs more than 2 at once');
    });

    test('a failed required dependency fails its dependents; optional ones do not block', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { outcome, rows, events } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'noop' }, dependencies: ['mid'] },
        { id: 'bad', name: 'bad', parent_id: 'root', schemas: { method: 'fail' }, inputs: { message: 'disk on fire' } },
        { id: 'mid', name: 'mid', parent_id: 'root', schemas: { method: 'noop' }, dependencies: ['bad'] },
        {
          id: 'soft',
          name: 'soft',
          parent_id: 'root',
          schemas: { method: 'echo' },
          dependencies: [{ id: 'bad', required: false }],
        },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.equal(get('bad')?.status, 'failed');
      assert.equal(get('bad')?.error, 'disk on fire');
      assert.equal(get('mid')?.status, 'failed');
      assert.equal(get('mid')?.error, `dependency ${get('bad')?.id} failed`);
      assert.equal(get('root')?.error, `dependency ${get('mid')?.id} failed`);
      assert.equal(get('soft')?.status, 'completed');
      assert.equal(outcome.status, 'failed');
      assert.equal(events.at(-1)?.type, 'final');
      assert.equal(events.at(-1)?.status, 'failed');
    });
  });
}
