// A change to a tree that must not happen while the tree runs (`tasks.update`, `tasks.delete`) is
// checked in the transaction that writes it, under the tree root's lock that a run's start takes:
// a run that begins between an API's first check and its write cannot run on what it read before
// the change. These tests hold the repository's guarded writes to that on both databases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import { eventually, started } from '../helpers.ts';
import { engineApp } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`writes guarded by a tree's run on ${db.name}`, () => {
    test('refused while the tree runs, nothing written; applied once the run ended', async (t) => {
      const server = await engineApp(t, await db.create(t));
      await server.engine.createTree([
        { id: 'g-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'g-hang', name: 'hang', parent_id: 'g-root', schemas: { method: 'hang' } },
        {
          id: 'g-next',
          name: 'next',
          parent_id: 'g-root',
          schemas: { method: 'noop' },
          dependencies: [{ id: 'g-hang' }],
        },
        { id: 'g-leaf', name: 'leaf', parent_id: 'g-next', schemas: { method: 'noop' } },
      ]);
      const idle = await server.tasks.update([{ id: 'g-next', set: { name: 'before the run' } }], {
        unlessRunning: 'g-root',
      });
      assert.equal(idle, true, 'an idle tree takes the change');
      assert.equal((await server.tasks.get('g-next'))?.name, 'before the run');

      const run = started(await server.engine.execute('g-root'));
      await eventually(async () => (await server.tasks.get('g-hang'))?.status === 'in_progress');
      const refused = await server.tasks.update([{ id: 'g-next', set: { name: 'during the run' } }], {
        unlessRunning: 'g-root',
      });
      assert.equal(refused, false, 'a running tree refuses the change');
      assert.equal((await server.tasks.get('g-next'))?.name, 'before the run', 'nothing written');
      const removed = await server.tasks.remove(['g-leaf'], [{ id: 'g-next', set: { has_children: false } }], {
        unlessRunning: 'g-root',
      });
      assert.equal(removed, false, 'a running tree refuses the delete');
      assert.notEqual(await server.tasks.get('g-leaf'), null, 'nothing deleted');
      assert.equal((await server.tasks.get('g-next'))?.has_children, true, "nor the delete's other changes");

      await server.engine.cancel(['g-root']);
      assert.equal((await run.done).status, 'cancelled');
      assert.equal(
        await server.tasks.update([{ id: 'g-next', set: { name: 'after the run' } }], { unlessRunning: 'g-root' }),
        true,
      );
      assert.equal((await server.tasks.get('g-next'))?.name, 'after the run');
      assert.equal(await server.tasks.remove(['g-leaf'], [], { unlessRunning: 'g-root' }), true);
      assert.equal(await server.tasks.get('g-leaf'), null);
    });
  });
}
