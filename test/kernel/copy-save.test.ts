import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { App } from 'apflow';
import { testDatabases } from '../databases.ts';
import {
  type CopyArray,
  type Row,
  engineApp,
  run,
  completedMain,
  saved,
  byOriginal,
  sorted,
  rejection,
} from './copy-setup.ts';

for (const db of testDatabases()) {
  describe(`task copy on ${db.name}`, () => {
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
