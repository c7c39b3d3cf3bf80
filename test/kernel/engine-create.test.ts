import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import { engineApp, rejection } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('tree creation rejects bad arrays with the original messages and stores nothing', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const cases: [unknown, RegExp][] = [
        [[], /^Tasks array cannot be empty$/],
        ['nope', /tasks must be an array of task objects/],
        [[{ id: 'a' }], /^Task at index 0 must have a 'name' field$/],
        [
          [
            { id: 'a', name: 'A' },
            { name: 'B', parent_id: 'a' },
          ],
          /^Mixed mode not supported: .*index 1/,
        ],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'a', name: 'B', parent_id: 'a' },
          ],
          /^Duplicate task id 'a' at index 1$/,
        ],
        [[{ name: 'A' }, { name: 'A', parent_id: 'A' }], /^Duplicate task name 'A' at index 1/],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B', parent_id: 'zzz' },
          ],
          /parent_id 'zzz' is not in the tasks array/,
        ],
        [[{ id: 'a', name: 'A', dependencies: [{ id: 'ghost' }] }], /dependency 'ghost' is not in the tasks array/],
        [[{ id: 'a', name: 'A', dependencies: [{ required: true }] }], /each dependency needs an 'id' or 'name'/],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'a', name: 'A', parent_id: 'r', dependencies: ['b'] },
            { id: 'b', name: 'B', parent_id: 'r', dependencies: [{ id: 'a' }] },
          ],
          /^Circular dependency detected: (a -> b -> a|b -> a -> b)\./,
        ],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B' },
          ],
          /^Multiple root tasks found: \[A, B\]/,
        ],
        [
          [
            { id: 'a', name: 'A', parent_id: 'b' },
            { id: 'b', name: 'B', parent_id: 'a' },
          ],
          /^No root task found/,
        ],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'a', name: 'A', parent_id: 'b' },
            { id: 'b', name: 'B', parent_id: 'a' },
          ],
          /^Tasks not in the same tree: \[a, b\]/,
        ],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'c', name: 'C', parent_id: 'r', dependencies: ['r'] },
          ],
          /could never run: .*cannot depend on its ancestor/,
        ],
        [[{ id: 'a', name: 'A', priority: 'high' }], /'priority' must be a whole number/],
        [[{ id: 'a', name: 'A', inputs: [1] }], /'inputs' must be an object/],
        [
          [
            { id: 'a', name: 'A', user_id: 'u1' },
            { id: 'b', name: 'B', parent_id: 'a', user_id: 'u2' },
          ],
          /^All tasks must have the same user_id. Found multiple user_ids: u1, u2$/,
        ],
      ];
      for (const [tasks, expected] of cases) {
        assert.match(await rejection(app.engine.createTree(tasks)), expected, JSON.stringify(tasks));
      }
      assert.deepEqual(await app.tasks.list({ root_only: false }), [], 'a rejected tree leaves nothing behind');
    });

    test('created trees have the original JSON shape; names are references when there are no ids', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const tree = await app.engine.createTree([
        { name: 'root', user_id: 'u1', dependencies: [{ name: 'child' }] },
        { name: 'child', parent_id: 'root', priority: 0, inputs: { x: 1 }, schemas: { method: 'echo' } },
      ]);
      assert.deepEqual(Object.keys(tree), [
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
        'created_at',
        'started_at',
        'updated_at',
        'completed_at',
        'has_children',
        'original_task_id',
        'has_copy',
        'children',
      ]);
      const child = tree.children?.[0];
      assert.ok(child);
      assert.equal(child.children, undefined, 'leaves have no children key');
      assert.equal(child.parent_id, tree.id);
      assert.equal(child.user_id, 'u1');
      assert.deepEqual(tree.dependencies, [{ id: child.id, required: true, type: 'result' }]);
      assert.equal(tree.status, 'pending');
      assert.equal(tree.priority, 1);
      assert.equal(tree.progress, 0);
      assert.equal(tree.has_children, true);
      assert.match(tree.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const stored = await app.tasks.get(child.id);
      assert.deepEqual(stored?.inputs, { x: 1 });
      assert.equal(stored?.priority, 0);
    });

    test('an id that already exists gets a fresh UUID, and references follow it', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await app.engine.createTree([{ id: 'same', name: 'first' }]);
      const second = await app.engine.createTree([
        { id: 'same', name: 'second' },
        { id: 'kid', name: 'kid', parent_id: 'same' },
      ]);
      assert.notEqual(second.id, 'same');
      assert.match(second.id, /^[0-9a-f-]{36}$/);
      assert.equal(second.children?.[0]?.parent_id, second.id);
    });

    test('with exactIds a taken id is a conflict, also for two trees created at the same moment: one tree is stored', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const tasks = (name: string) => [
        { id: 'fire:root', name },
        { id: 'fire:kid', name: 'kid', parent_id: 'fire:root' },
      ];
      const answers = await Promise.allSettled([
        app.engine.createTree(tasks('one'), { exactIds: true }),
        app.engine.createTree(tasks('two'), { exactIds: true }),
      ]);
      assert.equal(answers.filter((answer) => answer.status === 'fulfilled').length, 1);
      const refused = answers.find((answer) => answer.status === 'rejected');
      assert.match(String(refused?.reason), /Task id fire:root(, fire:kid)? exists already/);
      assert.match(await rejection(app.engine.createTree(tasks('three'), { exactIds: true })), /exists already/);
      assert.equal((await app.tasks.tree('fire:root')).length, 2);
      const stored = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value.name] : []));
      assert.deepEqual([(await app.tasks.get('fire:root'))?.name], stored);
    });
  });
}
