import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { CHECKPOINT_PAGES } from '../../../kernel/storage/open-database.ts';
import { openStorage, testDatabases, testStorage } from '../../databases.ts';

const sqlite = testDatabases().find((db) => db.name === 'sqlite');
/** A fresh SQLite file's URL (removed when the test ends). */
const freshUrl = (t: TestContext) => (sqlite as NonNullable<typeof sqlite>).create(t);

/** Storage on a fresh SQLite file, which the caller closes; the file's path comes back beside it. */
async function open(t: TestContext, synchronous: 'full' | 'normal' = 'full') {
  const url = await freshUrl(t);
  return { storage: await openStorage(url, { sqlite: synchronous }), file: url.slice('sqlite:'.length) };
}

test('a statement that does not prepare fails its own call, every time, and the connection goes on', async (t) => {
  const storage = await testStorage(t, await freshUrl(t));
  for (let i = 0; i < 2; i++) await assert.rejects(storage.sql.select('SELEC 1'), /syntax error/);
  assert.deepEqual(await storage.sql.select('SELECT ? AS one', [1]), [{ one: 1 }]);
});

test('a kept statement that failed on its data runs again with other data, in and out of transactions', async (t) => {
  const storage = await testStorage(t, await freshUrl(t));
  await storage.sql.run('CREATE TABLE kept (x INTEGER UNIQUE)');
  const insert = 'INSERT INTO kept (x) VALUES (?) RETURNING x';
  assert.deepEqual(await storage.sql.select(insert, [1]), [{ x: 1 }]);
  await assert.rejects(storage.sql.select(insert, [1]), /UNIQUE constraint failed/);
  await assert.rejects(
    storage.sql.write(async (tx) => {
      await tx.run(insert, [2]);
      await tx.run(insert, [2]);
    }),
    /UNIQUE constraint failed/,
  );
  await storage.sql.write((tx) => tx.run(insert, [3]));
  assert.deepEqual(
    await storage.sql.select('SELECT x FROM kept ORDER BY x'),
    [{ x: 1 }, { x: 3 }],
    'the rollback held',
  );
});

test('more distinct statements than are kept all run, and the database closes with none left open', async (t) => {
  const { storage, file } = await open(t);
  await storage.sql.run('CREATE TABLE written (x INTEGER)');
  // Each text is a statement of its own: the oldest are let go as new ones come.
  for (let i = 0; i < 450; i++) assert.deepEqual(await storage.sql.select(`SELECT ${i} AS n`), [{ n: i }]);
  assert.deepEqual(await storage.sql.select('SELECT 7 AS n'), [{ n: 7 }]);
  assert.ok(existsSync(`${file}-wal`), 'a write-ahead log while open');
  await storage.close();
  // SQLite refuses to close a connection with statements still prepared; the last connection
  // to close removes the write-ahead log.
  assert.equal(existsSync(`${file}-wal`), false, 'the connection closed');
});

for (const synchronous of ['normal', 'full'] as const) {
  const every = synchronous === 'normal' ? CHECKPOINT_PAGES : 1000;
  test(`${synchronous}: the log is copied into the file every ${every} pages, and nothing is lost at close`, async (t) => {
    const { storage, file } = await open(t, synchronous);
    const pageSize = Number(Object.values((await storage.sql.select('PRAGMA page_size'))[0] ?? {})[0]);
    await storage.sql.run('CREATE TABLE pages (x TEXT)');
    // About 1,500 pages, a page a commit: at SQLite's default (kept with `full`, where every commit
    // syncs the log) the log is copied and begun again from its start past 1,000 pages.
    const page = 'x'.repeat(pageSize - 100);
    for (let i = 0; i < 1500; i++) await storage.sql.write((tx) => tx.run('INSERT INTO pages (x) VALUES (?)', [page]));
    const frames = Math.floor(statSync(`${file}-wal`).size / (pageSize + 24));
    if (synchronous === 'normal') {
      assert.ok(frames >= 1500, `the log holds every commit's pages since the start (${frames} frames)`);
      assert.ok(frames < CHECKPOINT_PAGES);
    } else assert.ok(frames > 900 && frames < 1500, `the log began again past 1,000 pages (${frames} frames)`);
    await storage.close();
    assert.equal(existsSync(`${file}-wal`), false, 'closing copied the log into the file');
    const again = await testStorage(t, `sqlite:${file}`);
    assert.deepEqual(await again.sql.select('SELECT COUNT(*) AS n FROM pages'), [{ n: 1500 }]);
  });
}

test('temporary storage is in memory, and a statement that fails halfway is still undone alone', async (t) => {
  const storage = await testStorage(t, await freshUrl(t));
  // 2: MEMORY. This SQLite build keeps temporary storage in files by default: each many-row
  // statement's journal was a file made, written and deleted per engine turn.
  assert.deepEqual(await storage.sql.select('PRAGMA temp_store'), [{ temp_store: 2 }]);
  await storage.sql.run('CREATE TABLE journaled (x INTEGER UNIQUE)');
  await storage.sql.write(async (tx) => {
    for (let x = 1; x <= 100; x++) await tx.run('INSERT INTO journaled (x) VALUES (?)', [x * 2]);
  });
  await storage.sql.write(async (tx) => {
    await tx.run('INSERT INTO journaled (x) VALUES (1)');
    // Rows 1…99 go up by 1 and the 100th meets x = 1: the statement fails after changing 99 rows.
    await assert.rejects(tx.run('UPDATE journaled SET x = CASE WHEN x = 200 THEN 1 ELSE x + 1 END'), /UNIQUE/);
  });
  const rows = await storage.sql.select<{ x: number }>('SELECT x FROM journaled ORDER BY x');
  assert.deepEqual(
    rows.map((row) => row.x),
    [1, ...Array.from({ length: 100 }, (_, i) => (i + 1) * 2)],
    "the failed statement's changes were undone, the transaction's other write kept",
  );
});
