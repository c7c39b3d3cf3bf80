import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { App } from 'apflow';
import { testDatabases } from '../databases.ts';
import {
  type Row,
  MAIN_IDS,
  engineApp,
  run,
  completedMain,
  saved,
  flatten,
  byOriginal,
  sorted,
  rejection,
} from './copy-setup.ts';

for (const db of testDatabases()) {
  describe(`task copy on ${db.name}`, () => {
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
  });
}
