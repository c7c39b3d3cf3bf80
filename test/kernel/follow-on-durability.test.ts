import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import sqlite3 from 'sqlite3';
import { testDatabases } from '../databases.ts';
import { memoryLog, repoRoot, started } from '../helpers.ts';

const sqlite = testDatabases().find((db) => db.name === 'sqlite');
const store = globalThis as { apflowProbe?: (taskId: string) => Promise<unknown> };

/** Runs `sql` on `db` (its own connection: another process, as far as locks go). */
const exec = (db: sqlite3.Database, sql: string) =>
  new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
const statusOf = (db: sqlite3.Database, id: string) =>
  new Promise<string>((resolve, reject) =>
    db.get<{ status: string }>('SELECT status FROM apflow_tasks WHERE id = ?', [id], (error, row) =>
      error ? reject(error) : resolve(row?.status ?? 'missing'),
    ),
  );

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
  const other = new sqlite3.Database(url.slice('sqlite:'.length));
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
  await exec(other, 'PRAGMA busy_timeout = 10000');

  let releaseChild: () => void = () => undefined;
  const childStarted = new Promise<void>((resolve) => {
    store.apflowProbe = async (taskId) => {
      if (taskId === 'child') {
        resolve();
        await new Promise<void>((go) => (releaseChild = go));
        return 'child done';
      }
      // The parent, started on the child's completion: what does the database say of the child?
      return statusOf(other, 'child');
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
  await exec(other, 'BEGIN IMMEDIATE');
  releaseChild();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await exec(other, 'COMMIT');
  const outcome = await run.done;
  assert.equal(outcome.status, 'completed');
  const parent = await app.tasks.get('parent');
  assert.deepEqual(
    parent?.result,
    { answer: 'completed' },
    'when the parent started, the child was committed as completed',
  );
});
