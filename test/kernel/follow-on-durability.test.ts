import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import Database from 'better-sqlite3';
import { testDatabases } from '../databases.ts';
import { memoryLog, repoRoot, started } from '../helpers.ts';

const sqlite = testDatabases().find((db) => db.name === 'sqlite');
const store = globalThis as { apflowProbe?: (taskId: string) => Promise<unknown> };

// A connection of its own (another process, as far as locks go), through the same SQLite library
// as apflow's: two copies of SQLite in one process do not see each other's locks.
const statusOf = (db: Database.Database, id: string) =>
  (db.prepare('SELECT status FROM apflow_tasks WHERE id = ?').get(id) as { status: string } | undefined)?.status ??
  'missing';

// Found by a chaos run: a parent began 1 ms after its last child ended on the same server, before
// that child's completion was committed; the server was killed, and the database then showed the
// child interrupted and the parent never run — yet the parent's executor had run. A task the
// engine claims on a completion it remembers must start only once that completion is durable.
test('a follow-on starts only once the completion it waits for is committed', async (t) => {
  const url = await (sqlite as NonNullable<typeof sqlite>).create(t);
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: {
      database: { url },
      executors: { dirs: [join(repoRoot, 'test', 'fixtures', 'executors')] },
      examples: { auto_init: false },
      log: { level: 'fatal' },
    },
  });
  t.after(() => app.close());
  const other = new Database(url.slice('sqlite:'.length));
  t.after(() => other.close());

  let releaseChild: () => void = () => undefined;
  const childStarted = new Promise<void>((resolve) => {
    store.apflowProbe = async (taskId) => {
      if (taskId === 'child') {
        resolve();
        await new Promise<void>((go) => (releaseChild = go));
        return 'child done';
      }
      // The parent, started on the child's completion: what does the database say of the child?
      return Promise.resolve(statusOf(other, 'child'));
    };
  });
  t.after(() => delete store.apflowProbe);

  await app.engine.createTree([
    { id: 'parent', name: 'parent', schemas: { method: 'probe' } },
    { id: 'child', name: 'child', parent_id: 'parent', schemas: { method: 'probe' } },
  ]);
  const run = started(await app.engine.execute('parent'));
  await childStarted;
  // Hold the database's write lock while the child ends: its completion cannot be committed.
  other.exec('BEGIN IMMEDIATE');
  releaseChild();
  await new Promise((resolve) => setTimeout(resolve, 500));
  other.exec('COMMIT');
  const outcome = await run.done;
  assert.equal(outcome.status, 'completed');
  const parent = await app.tasks.get('parent');
  assert.deepEqual(
    parent?.result,
    { answer: 'completed' },
    'when the parent started, the child was committed as completed',
  );
});
