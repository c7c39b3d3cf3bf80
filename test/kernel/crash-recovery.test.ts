import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createApp, type App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { eventually, freePort, memoryLog, repoRoot, spawnApflow, tempProject, waitListening } from '../helpers.ts';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'executors', name), 'utf8');

const tree = [
  { id: 'root', name: 'root', schemas: { method: 'noop' } },
  { id: 'quick1', name: 'quick1', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
  { id: 'quick2', name: 'quick2', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
  {
    id: 'slow-retry',
    name: 'slow-retry',
    parent_id: 'root',
    schemas: { method: 'sleep' },
    inputs: { ms: 1500 },
    params: { retries: 1 },
  },
  { id: 'slow-once', name: 'slow-once', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 1500 } },
  { id: 'after', name: 'after', parent_id: 'root', schemas: { method: 'noop' }, dependencies: ['slow-retry'] },
];

for (const db of testDatabases()) {
  describe(`crash recovery on ${db.name}`, () => {
    test(
      'kill -9 mid-run, start again: nothing stays in_progress, finished results are kept',
      { timeout: 90_000 },
      async (t) => {
        const url = await db.create(t);
        const dir = tempProject(t, {
          'executors/_runs.ts': fixture('_runs.ts'),
          'executors/sleep.ts': fixture('sleep.ts'),
          'executors/noop.ts': fixture('noop.ts'),
          'tree.json': JSON.stringify({ tasks: tree }),
        });
        const env = { APFLOW_DATABASE_URL: url };
        const reader: App = await createApp({ cwd: dir, env, resume: false, logStream: memoryLog().stream });
        t.after(() => reader.close());
        const state = async () => new Map((await reader.tasks.tree('root')).map((row) => [row.id, row]));

        const run = spawnApflow(['run', 'tree.json'], { cwd: dir, env });
        t.after(() => run.child.kill('SIGKILL'));
        const before = await eventually(async () => {
          const rows = await state().catch(() => new Map());
          const ready =
            rows.get('quick1')?.status === 'completed' &&
            rows.get('quick2')?.status === 'completed' &&
            rows.get('slow-retry')?.status === 'in_progress' &&
            rows.get('slow-once')?.status === 'in_progress';
          return ready ? rows : undefined;
        }, 30_000);
        run.child.kill('SIGKILL');
        await run.exited;
        const stuck = await state();
        assert.equal(
          stuck.get('slow-retry')?.status,
          'in_progress',
          'the killed process left its running tasks in_progress',
        );

        const port = await freePort();
        const server = spawnApflow(['serve', '--host', '127.0.0.1', '--port', String(port)], { cwd: dir, env });
        t.after(() => server.child.kill('SIGKILL'));
        await waitListening(server);
        const after = await eventually(async () => {
          const rows = await state();
          const root = rows.get('root');
          return root && ['completed', 'failed'].includes(root.status) && root.run_state === null ? rows : undefined;
        }, 30_000);

        for (const row of after.values()) assert.notEqual(row.status, 'in_progress', `${row.id} is not stuck`);
        for (const id of ['quick1', 'quick2']) {
          assert.equal(after.get(id)?.status, 'completed');
          assert.deepEqual(after.get(id)?.result, before.get(id)?.result, `${id} kept its result`);
          assert.equal(after.get(id)?.completed_at, before.get(id)?.completed_at, `${id} was not run again`);
        }
        assert.equal(after.get('slow-retry')?.status, 'completed', 'a task with a retry left runs again');
        assert.equal(after.get('slow-retry')?.attempts, 2);
        assert.equal(after.get('slow-once')?.status, 'failed');
        assert.equal(after.get('slow-once')?.error, 'interrupted: the server stopped while this task was running');
        assert.equal(after.get('after')?.status, 'completed');
        assert.equal(after.get('root')?.status, 'completed');
        server.child.kill('SIGTERM');
        assert.equal(await server.exited, 0);
      },
    );
  });
}
