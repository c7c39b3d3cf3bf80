/**
 * `sql.writeAtOnce`: writes collected while its work runs go as one atomic write; on PostgreSQL a
 * few of them as a single statement (no BEGIN, no COMMIT). A job's start (`engine.execute({ tasks })`
 * with nothing else to write) goes that way: the tree, its events and their notification in one
 * statement, which another server hears.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { TaskEvent } from 'apflow';
import type { Storage } from '../../../kernel/storage/create-storage.ts';
import { testDatabases, testStorage } from '../../databases.ts';
import { repoRoot, started, testApp } from '../../helpers.ts';
import { traceStatements } from '../../statement-trace.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** Storage alone on a fresh database (no engine writing beside the test), with two tables of its own. */
async function tables(t: TestContext, url: string): Promise<Storage> {
  const storage = await testStorage(t, url);
  await storage.sql.run('CREATE TABLE at_once_a (id TEXT PRIMARY KEY)');
  await storage.sql.run('CREATE TABLE at_once_b (id TEXT PRIMARY KEY)');
  return storage;
}

const ids = async ({ sql }: Storage, table: string) =>
  (await sql.select<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).map((row) => row.id);

for (const db of testDatabases()) {
  describe(`sql.writeAtOnce on ${db.name}`, () => {
    test('writes all or nothing, returns what its work returned, and refuses reads', async (t) => {
      const app = await tables(t, await db.create(t));
      const { sql } = app;
      const value = await sql.writeAtOnce(async (runner) => {
        await runner.run('INSERT INTO at_once_a (id) VALUES (?)', ['a1']);
        await runner.run('INSERT INTO at_once_b (id) VALUES (?), (?)', ['b1', 'b2']);
        return 'written';
      });
      assert.equal(value, 'written');
      assert.deepEqual(await ids(app, 'at_once_a'), ['a1']);
      assert.deepEqual(await ids(app, 'at_once_b'), ['b1', 'b2']);
      // The second write's key is taken: the first one's row is not stored either.
      await assert.rejects(
        sql.writeAtOnce(async (runner) => {
          await runner.run('INSERT INTO at_once_a (id) VALUES (?)', ['a2']);
          await runner.run('INSERT INTO at_once_b (id) VALUES (?)', ['b1']);
        }),
        /unique|duplicate/i,
      );
      assert.deepEqual(await ids(app, 'at_once_a'), ['a1']);
      await assert.rejects(
        sql.writeAtOnce(async (runner) => {
          await runner.run('INSERT INTO at_once_a (id) VALUES (?)', ['a3']);
          await runner.select('SELECT id FROM at_once_b');
        }),
        /a read inside a write made at once/,
      );
      assert.deepEqual(await ids(app, 'at_once_a'), ['a1'], 'nothing written by work that failed');
    });
  });
}

const postgres = testDatabases().find((db) => db.name === 'postgres');

describe('writes at once on PostgreSQL', { skip: postgres ? false : 'no test PostgreSQL' }, () => {
  test('a few writes are one statement, without BEGIN or COMMIT', async (t) => {
    const app = await tables(t, await (postgres as NonNullable<typeof postgres>).create(t));
    await app.sql.select('SELECT 1 AS one'); // the connection is open before
    const { trace: sent } = await traceStatements(() =>
      app.sql.writeAtOnce(async (runner) => {
        await runner.run('INSERT INTO at_once_a (id) VALUES (?)', ['a1']);
        await runner.run('INSERT INTO at_once_b (id) VALUES (?)', ['b1']);
      }),
    );
    assert.deepEqual(
      sent.map(({ text }) => text),
      ['WITH w1 AS (INSERT INTO at_once_a (id) VALUES ($1)) INSERT INTO at_once_b (id) VALUES ($2)'],
    );
    assert.deepEqual([await ids(app, 'at_once_a'), await ids(app, 'at_once_b')], [['a1'], ['b1']]);
  });

  test('more writes than one statement takes go in a transaction, sent as they are made', async (t) => {
    const app = await tables(t, await (postgres as NonNullable<typeof postgres>).create(t));
    const made = (n: number) => Array.from({ length: n }, (_, i) => `a${i + 1}`);
    // Ten writes: once there are more than a statement takes, they leave before the work is done.
    let sentWhileMaking = 0;
    const { trace } = await traceStatements((sent) =>
      app.sql.writeAtOnce(async (runner) => {
        for (const id of made(10)) await runner.run('INSERT INTO at_once_a (id) VALUES (?)', [id]);
        await new Promise((resolve) => setImmediate(resolve));
        sentWhileMaking = sent.length;
      }),
    );
    assert.ok(sentWhileMaking >= 10, `${sentWhileMaking} statements had left when the work ended`);
    assert.deepEqual(
      trace.map(({ text }) => text.split(';')[0]),
      ['BEGIN', ...made(10).map(() => 'INSERT INTO at_once_a (id) VALUES ($1)'), 'COMMIT'],
    );
    assert.deepEqual(await ids(app, 'at_once_a'), made(10).sort());
    // A write that fails fails the whole, as does work that fails after the transaction opened.
    await assert.rejects(
      app.sql.writeAtOnce(async (runner) => {
        for (const id of [...made(12).slice(10), 'a3', 'b9'])
          await runner.run('INSERT INTO at_once_a (id) VALUES (?)', [id]);
        for (const id of ['b1', 'b2', 'b3']) await runner.run('INSERT INTO at_once_b (id) VALUES (?)', [id]);
      }),
      /unique|duplicate/i,
    );
    await assert.rejects(
      app.sql.writeAtOnce(async (runner) => {
        for (const id of ['b4', 'b5', 'b6', 'b7', 'b8', 'b9'])
          await runner.run('INSERT INTO at_once_b (id) VALUES (?)', [id]);
        throw new Error('the work failed');
      }),
      /the work failed/,
    );
    assert.deepEqual([await ids(app, 'at_once_a'), await ids(app, 'at_once_b')], [made(10).sort(), []]);
  });

  test("a job's start is one statement, and another server hears its events", async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const settings = { database: { url }, executors: { dirs: [fixtures] } };
    const [runner, watcher] = [await testApp(t, settings), await testApp(t, settings)];
    // A first job, so that nothing of the servers' start is left to write.
    await started(await runner.engine.execute({ tasks: [{ name: 'first', schemas: { method: 'noop' } }] })).done;
    const heard: TaskEvent[] = [];
    const ended = new Promise<void>((resolve) => {
      const following = watcher.engine.follow('job', 0, (event) => {
        heard.push(event);
        if (event.type === 'final') resolve(following.stop());
      });
    });
    const tasks = [{ id: 'job', name: 'job', schemas: { method: 'noop' } }];
    const { value, trace: sent } = await traceStatements(() => runner.engine.execute({ tasks }));
    // Both servers work beside it (heartbeats, the watcher's reads): what matters is its connection.
    const insert = sent.find(({ text }) => text.includes('INSERT INTO apflow_tasks'));
    assert.ok(insert, 'the job was inserted');
    const onIt = sent.filter(({ client }) => client === insert.client);
    const at = onIt.indexOf(insert);
    assert.doesNotMatch(onIt[at - 1]?.text ?? '', /^BEGIN/, 'no BEGIN before it');
    assert.doesNotMatch(onIt[at + 1]?.text ?? '', /^(COMMIT|WITH|INSERT)/, 'nothing of it after it');
    const statement = insert.text;
    assert.match(statement, /^WITH w1 AS \(INSERT INTO apflow_tasks .*written AS \(INSERT INTO apflow_event_batches/s);
    assert.match(statement, /pg_notify/);
    assert.equal((await started(value).done).status, 'completed');
    await ended;
    assert.deepEqual(
      heard.map((event) => `${event.seq}:${event.type}`),
      ['1:progress', '2:task_start', '3:task_completed', '4:final'],
    );
  });
});
