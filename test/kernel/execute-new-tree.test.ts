import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { repoRoot, testApp } from '../helpers.ts';

// tasks.execute {tasks} and execute_task_tree create the tree in the transaction that begins its
// run (engine.execute({ tasks })). When ids clash on the way (a tree created meanwhile took one),
// the tree is created the ordinary way: taken ids get fresh ones, and every call still runs.

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

async function rpc(app: App, url: string, method: string, params: unknown) {
  const answer = await app.inject({ method: 'POST', url, payload: { jsonrpc: '2.0', id: 1, method, params } });
  return JSON.parse(answer.body) as { result?: Record<string, unknown>; error?: { message: string } };
}

for (const db of testDatabases()) {
  describe(`a new tree created and run at once, on ${db.name}`, () => {
    test('calls at the same moment with the same given ids: each runs its own tree, one keeps the ids', async (t) => {
      const app = await testApp(t, { database: { url: await db.create(t) }, executors: { dirs: [fixtures] } });
      const tasks = [
        { id: 'same-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'same-child', name: 'child', parent_id: 'same-root', schemas: { method: 'noop' } },
      ];
      const answers = await Promise.all([
        ...Array.from({ length: 12 }, () => rpc(app, '/tasks', 'tasks.execute', { tasks })),
        ...Array.from({ length: 12 }, () => rpc(app, '/', 'execute_task_tree', { tasks })),
      ]);
      for (const answer of answers) assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      const roots = answers.map((answer) => answer.result?.root_task_id as string);
      assert.equal(new Set(roots).size, 24, 'every call ran a tree of its own');
      assert.equal(roots.filter((id) => id === 'same-root').length, 1, 'one tree kept the given root id');
      for (const answer of answers) assert.equal(answer.result?.status, 'completed');
      for (const root of roots) {
        const tree = await app.tasks.tree(root);
        assert.equal(tree.length, 2, `${root} has its child`);
        assert.ok(
          tree.every((row) => row.status === 'completed'),
          `${root} ran whole`,
        );
      }
    });

    test('the answer holds the new tree, nested, for a caller that reads it and in its JSON', async (t) => {
      const app = await testApp(t, { database: { url: await db.create(t) }, executors: { dirs: [fixtures] } });
      const tasks = [
        { id: 'nest-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'nest-b', name: 'b', parent_id: 'nest-root', priority: 2, schemas: { method: 'noop' } },
        { id: 'nest-a', name: 'a', parent_id: 'nest-root', priority: 1, schemas: { method: 'noop' } },
      ];
      const answer = await app.engine.execute({ tasks });
      assert.ok(answer.started);
      await answer.done;
      type Nested = { id: string; children?: unknown[] } | undefined;
      const shape = (tree: Nested): unknown => [tree?.id, (tree?.children ?? []).map((c) => shape(c as Nested))];
      assert.deepEqual(shape(answer.tree), [
        'nest-root',
        [
          ['nest-a', []],
          ['nest-b', []],
        ],
      ]);
      assert.equal(answer.tree, answer.tree, 'built once');
      assert.deepEqual(shape(JSON.parse(JSON.stringify(answer)).tree), shape(answer.tree));
    });

    test('a streamed execute of new tasks names the new root and streams its run to final', async (t) => {
      const app = await testApp(t, { database: { url: await db.create(t) }, executors: { dirs: [fixtures] } });
      const answer = await app.inject({
        method: 'POST',
        url: '/tasks',
        payload: {
          jsonrpc: '2.0',
          id: 1,
          method: 'tasks.execute',
          params: { tasks: [{ id: 'streamed', name: 'streamed', schemas: { method: 'noop' } }], use_streaming: true },
        },
      });
      const frames = answer.body
        .split('\n\n')
        .flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
        .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
      const first = frames[0]?.result as Record<string, unknown>;
      assert.equal(first.root_task_id, 'streamed');
      assert.equal(first.task_id, 'streamed');
      assert.ok(frames.some((frame) => frame.type === 'final'));
      assert.equal((await app.tasks.get('streamed'))?.status, 'completed');
    });
  });
}
