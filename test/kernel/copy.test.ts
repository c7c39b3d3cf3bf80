import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createApp, isApflowError, type App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { memoryLog, repoRoot } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

type CopyResult = Awaited<ReturnType<App['engine']['copy']>>;
type CopyTree = Exclude<CopyResult, { saved: false }>;
type CopyArray = Extract<CopyResult, { saved: false }>;
type Row = NonNullable<Awaited<ReturnType<App['tasks']['get']>>>;

/**
 * The main fixture. Dependencies: b on a, k on a2 (optional), h on b and d, root on h.
 *   root ─┬─ g ─┬─ a ─┬─ a1
 *         │     │     └─ a2
 *         │     ├─ b
 *         │     └─ k
 *         ├─ h
 *         └─ d
 */
const MAIN = [
  { id: 'root', name: 'root', schemas: { method: 'echo' }, dependencies: ['h'], user_id: 'u1' },
  { id: 'g', name: 'g', parent_id: 'root', schemas: { method: 'noop' } },
  { id: 'a', name: 'a', parent_id: 'g', schemas: { method: 'echo' }, inputs: { x: 1 }, priority: 2 },
  { id: 'a1', name: 'a1', parent_id: 'a', schemas: { method: 'echo' }, inputs: { token_usage: { total_tokens: 42 } } },
  { id: 'a2', name: 'a2', parent_id: 'a', schemas: { method: 'echo' } },
  { id: 'b', name: 'b', parent_id: 'g', schemas: { method: 'echo' }, dependencies: ['a'] },
  { id: 'k', name: 'k', parent_id: 'g', schemas: { method: 'echo' }, dependencies: [{ id: 'a2', required: false }] },
  { id: 'h', name: 'h', parent_id: 'root', schemas: { method: 'echo' }, dependencies: ['b', 'd'] },
  { id: 'd', name: 'd', parent_id: 'root', schemas: { method: 'echo' }, params: { note: 'keep' } },
];
const MAIN_IDS = MAIN.map((task) => task.id);

async function engineApp(t: TestContext, url: string): Promise<App> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: { database: { url }, executors: { dirs: [fixtures] }, log: { level: 'warn' } },
  });
  t.after(() => app.close());
  return app;
}

/** Runs `taskId` (a whole tree for a root) to its end. */
async function run(app: App, taskId: string): Promise<string> {
  const { done } = await app.engine.execute(taskId);
  return (await done).status;
}

/** Creates the main tree and runs it: every task completed. */
async function completedMain(app: App): Promise<Map<string, Row>> {
  await app.engine.createTree(MAIN);
  assert.equal(await run(app, 'root'), 'completed');
  return byId(await app.tasks.tree('root'));
}

async function saved(app: App, taskId: string, options: Parameters<App['engine']['copy']>[1] = {}): Promise<CopyTree> {
  const result = await app.engine.copy(taskId, options);
  assert.ok(!('saved' in result), 'a saved copy returns the tree');
  return result;
}

function flatten(node: CopyTree): CopyTree[] {
  return [node, ...(node.children ?? []).flatMap(flatten)];
}

function byId(rows: readonly Row[]): Map<string, Row> {
  return new Map(rows.map((row) => [row.id, row]));
}

/** Original id → copy, for the tasks of a copy. */
function byOriginal<T extends { original_task_id: string | null }>(copies: readonly T[]): Map<string, T> {
  return new Map(copies.map((copy) => [copy.original_task_id as string, copy]));
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), String(error));
  return { code: error.code, message: error.message };
}

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

    test('full: the whole tree; the subtree, its upstream and downstream start over, the rest keeps its run', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const originals = await completedMain(app);
      const copy = await saved(app, 'b', { copy_mode: 'full' });
      const of = byOriginal(flatten(copy));
      assert.deepEqual(sorted(of.keys()), sorted(MAIN_IDS));
      assert.equal(copy.original_task_id, 'root');
      const rerun = ['b', 'a', 'h', 'root']; // b, what it depends on (a), what depends on it (h, then root)
      for (const [id, task] of of) {
        const original = originals.get(id) as Row;
        if (rerun.includes(id)) {
          assert.deepEqual(
            [task.status, task.progress, task.result, task.started_at, task.completed_at],
            ['pending', 0, null, null, null],
            id,
          );
        } else {
          assert.equal(task.status, 'completed', id);
          assert.equal(task.progress, 1);
          assert.deepEqual(task.result, original.result);
          assert.equal(task.started_at, original.started_at);
          assert.equal(task.completed_at, original.completed_at);
          assert.ok(task.started_at && task.completed_at);
        }
        assert.equal(task.error, null);
      }
      assert.deepEqual((of.get('a1')?.result as Record<string, unknown>).token_usage, { total_tokens: 42 });
      const stored = byOriginal(await app.tasks.tree(copy.id));
      assert.equal(stored.get('a1')?.status, 'completed');
      assert.deepEqual(stored.get('a1')?.result, originals.get('a1')?.result);
      for (const row of await app.tasks.tree('root')) assert.equal(row.has_copy, true);
      assert.equal(await run(app, copy.id), 'completed', 'a full copy runs too');

      const leafCopy = byOriginal(flatten(await saved(app, 'a2', { copy_mode: 'full' })));
      const pending = [...leafCopy].filter(([, task]) => task.status === 'pending').map(([id]) => id);
      assert.deepEqual(sorted(pending), ['a2', 'k'], 'a leaf without dependencies: itself and its dependent k');
    });

    test('custom: the given ids, what they depend on, and (if asked) their descendants', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await completedMain(app);
      const names = async (options: Parameters<App['engine']['copy']>[1]) => {
        const copy = await saved(app, 'root', { copy_mode: 'custom', ...options });
        return {
          root: copy.original_task_id,
          ids: sorted(flatten(copy).map((task) => task.original_task_id as string)),
        };
      };
      assert.deepEqual(
        await names({ custom_task_ids: ['k'] }),
        { root: 'g', ids: ['a', 'a2', 'g', 'k'] },
        'k brings a2 along; they meet at g',
      );
      assert.deepEqual(await names({ custom_task_ids: ['a'], custom_include_children: true }), {
        root: 'a',
        ids: ['a', 'a1', 'a2'],
      });
      assert.deepEqual(await names({ custom_task_ids: ['a'] }), { root: 'a', ids: ['a'] });
      assert.deepEqual(await names({ custom_task_ids: ['d', 'a1', 'd'] }), {
        root: 'root',
        ids: ['a', 'a1', 'd', 'g', 'root'],
      });
      const custom = flatten(await saved(app, 'a1', { copy_mode: 'custom', custom_task_ids: ['k'] }));
      assert.ok(custom.every((task) => task.status === 'pending'));

      const other = await app.engine.createTree([{ id: 'elsewhere', name: 'elsewhere' }]);
      const cases: [Parameters<App['engine']['copy']>[1], RegExp][] = [
        [{ copy_mode: 'custom' }, /^custom_task_ids is required when copy_mode='custom'$/],
        [{ copy_mode: 'custom', custom_task_ids: [] }, /^custom_task_ids is required when copy_mode='custom'$/],
        [
          { copy_mode: 'custom', custom_task_ids: ['a', 'nope', other.id] },
          /^Task IDs not found in tree: nope, elsewhere$/,
        ],
      ];
      for (const [options, expected] of cases) {
        const error = await rejection(app.engine.copy('root', options));
        assert.equal(error.code, 'APF_INVALID_PARAMS');
        assert.match(error.message, expected);
      }
    });

    test('reset_fields: an array resets the named fields, an object sets them; other fields are refused', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const originals = await completedMain(app);

      const cleared = byOriginal(flatten(await saved(app, 'd', { reset_fields: ['inputs', 'params'] })));
      assert.deepEqual(sorted(cleared.keys()), ['d', 'h', 'root']);
      assert.deepEqual([cleared.get('d')?.inputs, cleared.get('d')?.params], [{}, null]);
      assert.deepEqual(cleared.get('h')?.inputs, {});
      assert.deepEqual(originals.get('d')?.params, { note: 'keep' });

      const set = await saved(app, 'a1', { reset_fields: { inputs: { x: 2 }, status: 'cancelled', error: 'parked' } });
      assert.deepEqual([set.inputs, set.status, set.error], [{ x: 2 }, 'cancelled', 'parked']);
      assert.equal((await app.tasks.get(set.id))?.status, 'cancelled');

      const full = byOriginal(flatten(await saved(app, 'a2', { copy_mode: 'full', reset_fields: ['result'] })));
      assert.deepEqual(
        [full.get('d')?.status, full.get('d')?.progress, full.get('d')?.result],
        ['completed', 1, null],
        'kept runs lose only what was named',
      );
      assert.equal(full.get('d')?.completed_at, originals.get('d')?.completed_at);

      const rowsBefore = (await app.tasks.list({ root_only: false, limit: 1000 })).length;
      const cases: [unknown, RegExp][] = [
        [
          ['name'],
          /^reset_fields: 'name' cannot be reset \(resettable: status, progress, result, error, started_at, completed_at, inputs, params\)$/,
        ],
        [{ updated_at: null }, /^reset_fields: 'updated_at' cannot be reset/],
        [{ progress: 2 }, /^reset_fields\.progress must be a number from 0 to 1$/],
        [{ status: 'in_progress' }, /^reset_fields\.status must be one of pending, completed, failed, cancelled$/],
        [{ started_at: 'yesterday' }, /^reset_fields\.started_at must be an ISO-8601 timestamp or null$/],
        [{ inputs: [1] }, /^reset_fields\.inputs must be an object or null$/],
        ['status', /^reset_fields must be an object of field values or an array of field names$/],
      ];
      for (const [reset_fields, expected] of cases) {
        const error = await rejection(app.engine.copy('a', { reset_fields } as Parameters<App['engine']['copy']>[1]));
        assert.equal(error.code, 'APF_INVALID_PARAMS');
        assert.match(error.message, expected);
      }
      assert.equal(
        (await app.tasks.list({ root_only: false, limit: 1000 })).length,
        rowsBefore,
        'refused copies store nothing',
      );
    });

    test('save=false stores nothing and returns a tasks array that tree creation takes as it is', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await completedMain(app);
      const result = await app.engine.copy('a', { save: false });
      assert.ok('saved' in result);
      const { tasks, saved: isSaved } = result as CopyArray;
      assert.equal(isSaved, false);
      assert.equal(tasks.length, 8);
      assert.deepEqual(Object.keys(tasks[0] ?? {}), [
        'id',
        'parent_id',
        'user_id',
        'name',
        'status',
        'priority',
        'dependencies',
        'inputs',
        'params',
        'result',
        'error',
        'schemas',
        'progress',
        'started_at',
        'completed_at',
        'has_children',
        'original_task_id',
      ]);
      assert.equal(tasks[0]?.original_task_id, 'root');
      assert.equal(tasks[0]?.parent_id, null);
      const ids = new Set(tasks.map((task) => task.id));
      for (const task of tasks.slice(1)) assert.ok(ids.has(task.parent_id as string));
      for (const task of tasks) for (const dep of task.dependencies ?? []) assert.ok(ids.has(dep.id));
      assert.deepEqual(await app.tasks.getMany([...ids]), [], 'nothing stored');
      for (const row of await app.tasks.tree('root'))
        assert.equal(row.has_copy, false, 'no has_copy without a saved copy');

      const created = await app.engine.createTree(tasks);
      assert.equal(created.id, tasks[0]?.id, 'the given ids are kept');
      const stored = await app.tasks.tree(created.id);
      assert.deepEqual(sorted(stored.map((row) => row.id)), sorted(ids));
      assert.deepEqual(
        sorted(
          stored.map(
            (row) =>
              `${row.original_task_id}:${row.parent_id === null ? '-' : stored.find((p) => p.id === row.parent_id)?.original_task_id}`,
          ),
        ),
        sorted(['root:-', 'g:root', 'a:g', 'a1:a', 'a2:a', 'b:g', 'k:g', 'h:root']),
      );
      assert.equal(await run(app, created.id), 'completed');
      for (const row of await app.tasks.tree(created.id)) assert.equal(row.status, 'completed');
    });

    test('a saved copy runs to completion on its own results and leaves the originals alone', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const originals = await completedMain(app);
      const copy = await saved(app, 'a');
      assert.equal(await run(app, copy.id), 'completed');
      const rows = byOriginal(await app.tasks.tree(copy.id));
      for (const row of rows.values()) assert.equal(row.status, 'completed');
      const hCopy = rows.get('h') as Row;
      assert.deepEqual(
        Object.keys(rows.get('root')?.result as object),
        [hCopy.id],
        'the root merged the copied h, not the original',
      );
      assert.deepEqual(Object.keys(rows.get('b')?.result as object), [rows.get('a')?.id]);
      for (const row of await app.tasks.tree('root')) {
        assert.equal(row.started_at, originals.get(row.id)?.started_at, `${row.id} did not run again`);
      }
    });

    test('errors: unknown task, bad options', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await completedMain(app);
      assert.deepEqual(await rejection(app.engine.copy('nope')), {
        code: 'APF_NOT_FOUND',
        message: 'Task nope not found',
      });
      const bad: [unknown, RegExp][] = [
        [{ copy_mode: 'bogus' }, /^copy_mode must be one of minimal, full, custom; got "bogus"$/],
        [{ save: 'yes' }, /^save must be a boolean$/],
        [{ children: 1 }, /^children must be a boolean$/],
        [{ custom_task_ids: 'a,b' }, /^custom_task_ids must be an array of task ids$/],
      ];
      for (const [options, expected] of bad) {
        const error = await rejection(app.engine.copy('a', options as Parameters<App['engine']['copy']>[1]));
        assert.equal(error.code, 'APF_INVALID_PARAMS');
        assert.match(error.message, expected);
      }
    });

    test('insertCopy is one transaction: a failed insert leaves no original marked', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await completedMain(app);
      const existing = (await app.tasks.get('a1')) as Row;
      await assert.rejects(app.tasks.insertCopy([existing], ['d'], new Date().toISOString()));
      assert.equal((await app.tasks.get('d'))?.has_copy, false);
    });
  });
}
