/**
 * Write transactions on PostgreSQL are pipelined (pipelined-transaction.ts): BEGIN and writes
 * whose rows nobody reads are sent without waiting for their answers, the next read or COMMIT
 * right behind them. A write that fails still fails its transaction, with its own error, and
 * nothing of the transaction is stored — on both databases.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Storage } from '../../../kernel/storage/create-storage.ts';
import { testDatabases, testStorage } from '../../databases.ts';
import { traceStatements } from '../../statement-trace.ts';

async function table(t: TestContext, url: string): Promise<Storage> {
  const storage = await testStorage(t, url);
  await storage.sql.run('CREATE TABLE piped (id TEXT PRIMARY KEY)');
  return storage;
}

const ids = async ({ sql }: Storage) =>
  (await sql.select<{ id: string }>('SELECT id FROM piped ORDER BY id')).map((row) => row.id);

for (const db of testDatabases()) {
  describe(`write transactions on ${db.name}`, () => {
    test('a write that fails fails its transaction at the next read, with its own error; nothing is stored', async (t) => {
      const storage = await table(t, await db.create(t));
      let readReturned = false;
      await assert.rejects(
        storage.sql.write(async (runner) => {
          await runner.run('INSERT INTO piped (id) VALUES (?)', ['a']);
          await runner.run('INSERT INTO piped (id) VALUES (?)', ['a']);
          await runner.select('SELECT id FROM piped');
          readReturned = true;
        }),
        /unique|duplicate/i,
      );
      assert.equal(readReturned, false);
      assert.deepEqual(await ids(storage), []);
    });

    test('a last write that fails fails the commit with its own error; nothing is stored', async (t) => {
      const storage = await table(t, await db.create(t));
      await assert.rejects(
        storage.sql.write(async (runner) => {
          await runner.run('INSERT INTO piped (id) VALUES (?)', ['b']);
          await runner.run('INSERT INTO piped (id) VALUES (?)', ['b']);
        }),
        /unique|duplicate/i,
      );
      assert.deepEqual(await ids(storage), []);
      // The connection is fit for the next transaction.
      await storage.sql.write((runner) => runner.run('INSERT INTO piped (id) VALUES (?)', ['c']));
      assert.deepEqual(await ids(storage), ['c']);
    });
  });
}

for (const db of testDatabases().filter((each) => each.name === 'postgres')) {
  test('on PostgreSQL, BEGIN goes with the first read and the last writes with COMMIT', async (t) => {
    const storage = await table(t, await db.create(t));
    const { value, trace } = await traceStatements(() =>
      storage.sql.write(async (runner) => {
        await runner.run('INSERT INTO piped (id) VALUES (?)', ['x']);
        const seen = await runner.select<{ id: string }>('SELECT id FROM piped');
        await runner.run('INSERT INTO piped (id) VALUES (?)', ['y']);
        return seen.map((row) => row.id);
      }),
    );
    assert.deepEqual(value, ['x'], 'a read sees the writes sent before it');
    assert.deepEqual(await ids(storage), ['x', 'y']);
    const [begin, first, read, last, commit] = trace;
    assert.match(begin?.text ?? '', /^BEGIN/);
    assert.match(first?.text ?? '', /^INSERT/);
    assert.match(read?.text ?? '', /^SELECT/);
    assert.match(last?.text ?? '', /^INSERT/);
    assert.equal(commit?.text, 'COMMIT');
    // Sent before the answers to what went before them: one round trip each way.
    assert.ok((read?.sent ?? 0) < (begin?.answered ?? 0), 'the read was sent before BEGIN was answered');
    assert.ok((read?.sent ?? 0) < (first?.answered ?? 0), 'the read was sent before the first write was answered');
    assert.ok((commit?.sent ?? 0) < (last?.answered ?? 0), 'COMMIT was sent before the last write was answered');
  });
}
