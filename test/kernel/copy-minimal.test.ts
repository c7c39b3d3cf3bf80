import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import {
  type Row,
  MAIN_IDS,
  engineApp,
  run,
  completedMain,
  saved,
  flatten,
  byId,
  byOriginal,
  sorted,
} from './copy-setup.ts';

for (const db of testDatabases()) {
  describe(`task copy on ${db.name}`, () => {
    test('minimal: the subtree, its dependents and the ancestors joining them; fresh ids, remapped references, fresh run state', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const originals = await completedMain(app);
      const before = new Date().toISOString();
      const copy = await saved(app, 'a');
      const copies = flatten(copy);
      const of = byOriginal(copies);
      const idOf = (original: string) => of.get(original)?.id as string;

      assert.deepEqual(
        sorted(of.keys()),
        sorted(['root', 'g', 'a', 'a1', 'a2', 'b', 'k', 'h']),
        'a, its subtree, dependents b, k, h, root; g joins them; d is unrelated',
      );
      assert.equal(copies.length, 8);
      assert.equal(copy.original_task_id, 'root');
      assert.equal(copy.parent_id, null);
      for (const task of copies) {
        const original = originals.get(task.original_task_id as string) as Row;
        assert.match(task.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.ok(!MAIN_IDS.includes(task.id));
        assert.equal(
          task.parent_id,
          original.parent_id === null ? null : idOf(original.parent_id),
          `parent of ${task.name}`,
        );
        const kept = (original.dependencies ?? []).filter((dep) => of.has(dep.id));
        assert.deepEqual(
          task.dependencies,
          kept.length ? kept.map((dep) => ({ ...dep, id: idOf(dep.id) })) : null,
          `dependencies of ${task.name}`,
        );
        assert.equal(task.name, original.name);
        assert.equal(task.user_id, 'u1');
        assert.equal(task.priority, original.priority);
        assert.deepEqual(task.schemas, original.schemas);
        assert.deepEqual(task.params, original.params);
        assert.equal(original.status, 'completed');
        assert.equal(task.status, 'pending');
        assert.equal(task.progress, 0);
        assert.equal(task.result, null);
        assert.equal(task.error, null);
        assert.equal(task.started_at, null);
        assert.equal(task.completed_at, null);
        assert.ok(task.updated_at >= before && task.created_at >= before);
        assert.equal(task.has_copy, false);
      }
      assert.deepEqual(
        of.get('k')?.dependencies,
        [{ id: idOf('a2'), required: false, type: 'result' }],
        'required and type are kept',
      );
      assert.deepEqual(of.get('a')?.inputs, { x: 1 });
      assert.ok(originals.get('b')?.inputs?.a, "the run merged a's result into b's inputs");
      assert.deepEqual(
        of.get('b')?.inputs,
        {},
        'merged results of copied dependencies are dropped: the copy gets its own',
      );
      assert.deepEqual(
        of.get('h')?.dependencies,
        [{ id: idOf('b'), required: true, type: 'result' }],
        'the dependency on d (not copied) is dropped',
      );
      assert.deepEqual(
        Object.keys(of.get('h')?.inputs ?? {}),
        ['d'],
        "d's merged result stays: the copy has no other source for it",
      );

      const stored = await app.tasks.tree(copy.id);
      assert.deepEqual(sorted(stored.map((row) => row.id)), sorted(copies.map((task) => task.id)));
      assert.deepEqual(
        stored.map((row) => row.position),
        stored.map((_, i) => i),
      );
      const storedOf = byOriginal(stored);
      for (const row of stored) {
        assert.equal(row.root_id, copy.id);
        assert.equal(row.attempts, 0);
        assert.equal(row.lease_owner, null);
        assert.equal(row.lease_expires_at, null);
        assert.equal(row.next_attempt_at, null);
        assert.equal(row.run_state, null);
        assert.equal(row.event_seq, 0);
        assert.equal(row.has_copy, false);
      }
      assert.deepEqual(
        ['root', 'g', 'a', 'a1', 'a2', 'b', 'k', 'h'].map((name) => storedOf.get(name)?.has_children),
        [true, true, true, false, false, false, false, false],
      );

      const after = byId(await app.tasks.tree('root'));
      for (const id of MAIN_IDS) {
        assert.equal(after.get(id)?.has_copy, id !== 'd', `has_copy of ${id}`);
        assert.equal(after.get(id)?.status, 'completed');
        assert.deepEqual(after.get(id)?.result, originals.get(id)?.result);
      }
    });

    test('minimal: the copy is rooted at the lowest common ancestor; children=true adds nothing twice', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await completedMain(app);

      const a2 = await saved(app, 'a2');
      const a2Copies = byOriginal(flatten(a2));
      assert.deepEqual(sorted(a2Copies.keys()), ['a', 'a2', 'g', 'k'], 'a2 and its dependent k meet at g');
      assert.equal(a2.original_task_id, 'g');
      assert.equal(a2.parent_id, null);
      assert.deepEqual((await app.tasks.get(a2.id))?.root_id, a2.id);
      assert.equal(a2Copies.get('a')?.has_children, true);
      assert.deepEqual(
        a2Copies.get('a')?.children?.map((child) => child.original_task_id),
        ['a2'],
        'a1 is not copied',
      );

      const leaf = await saved(app, 'a1');
      assert.equal(leaf.original_task_id, 'a1');
      assert.equal(leaf.parent_id, null);
      assert.equal(leaf.has_children, false);
      assert.equal(leaf.children, undefined);

      const withChildren = flatten(await saved(app, 'a', { children: true }));
      assert.equal(withChildren.length, 8);
      assert.equal(new Set(withChildren.map((task) => task.original_task_id)).size, 8);
    });

    test('minimal: when the subtree has a failed leaf, pending dependents stay out; otherwise they come along', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await app.engine.createTree([
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        { id: 'p', name: 'p', parent_id: 'r', schemas: { method: 'noop' } },
        { id: 'bad', name: 'bad', parent_id: 'p', schemas: { method: 'fail' }, inputs: { message: 'nope' } },
        { id: 'q', name: 'q', parent_id: 'r', schemas: { method: 'echo' }, dependencies: ['p'] },
        { id: 'w', name: 'w', parent_id: 'r', schemas: { method: 'echo' }, dependencies: ['q'] },
      ]);
      assert.equal(await run(app, 'q'), 'completed'); // runs q and p only
      assert.equal(await run(app, 'bad'), 'failed');
      const states = byId(await app.tasks.tree('r'));
      assert.deepEqual(
        ['r', 'p', 'bad', 'q', 'w'].map((id) => states.get(id)?.status),
        ['pending', 'completed', 'failed', 'completed', 'pending'],
      );

      const fromP = byOriginal(flatten(await saved(app, 'p')));
      assert.deepEqual(sorted(fromP.keys()), ['bad', 'p', 'q', 'r'], 'q (completed) stays; w (pending) is left out');

      const fromQ = byOriginal(flatten(await saved(app, 'q')));
      assert.deepEqual(sorted(fromQ.keys()), ['q', 'r', 'w'], 'no failed leaf: the pending dependent w comes along');
    });
  });
}
