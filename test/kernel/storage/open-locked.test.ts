// Opening a SQLite file another process holds locked (two CLI commands started together on a new
// project: one is creating the database while the other opens it) waits for the lock to go,
// instead of failing at once with "database is locked".
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runApflow, tempProject } from '../../helpers.ts';

test('a command opening a database another process holds locked waits for it, then answers', async (t) => {
  const dir = tempProject(t);
  mkdirSync(join(dir, '.data'));
  // A new file in rollback-journal mode, held under an exclusive lock: switching it to WAL (the
  // first thing apflow does on opening) needs that lock.
  const holder = new Database(join(dir, '.data', 'apflow.sqlite'));
  t.after(() => holder.close());
  holder.exec('CREATE TABLE held (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1)');
  const released = new Promise<void>((resolve) =>
    setTimeout(() => {
      holder.exec('COMMIT');
      resolve();
    }, 3000),
  );
  const counted = runApflow(['tasks', 'count', '--format', 'json'], {
    cwd: dir,
    env: { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' },
  });
  await released;
  const { code, stdout, stderr } = await counted;
  assert.equal(code, 0, stderr);
  assert.equal(JSON.parse(stdout).total, 0);
});
