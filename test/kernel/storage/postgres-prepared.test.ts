/**
 * PostgreSQL: the statements of write transactions (the engine's turns) are prepared once per
 * connection (`database.postgres.prepared_statements`, on by default), except those whose result
 * is `*`, which a column added by a migration elsewhere would break; off, none is.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { testDatabases } from '../../databases.ts';
import { repoRoot, started, testApp } from '../../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const postgres = testDatabases().find((db) => db.name === 'postgres');

async function app(t: TestContext, url: string, prepared?: boolean) {
  return testApp(t, {
    database: { url, ...(prepared === undefined ? {} : { postgres: { prepared_statements: prepared } }) },
    executors: { dirs: [fixtures] },
  });
}

/** What a write transaction finds prepared on its connection after running these two statements. */
async function preparedAfter(app: Awaited<ReturnType<typeof testApp>>) {
  return app.storage.sql.write(async (runner) => {
    await runner.select('SELECT CAST(? AS integer) AS one', [1]);
    await runner.select('SELECT * FROM apflow_tasks WHERE id = ?', ['none']);
    return (await runner.select<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).map(
      (row) => row.statement,
    );
  });
}

const runTree = async (on: Awaited<ReturnType<typeof testApp>>, id: string) => {
  const tasks = [
    { id, name: id, schemas: { method: 'noop' } },
    { id: `${id}-child`, name: 'child', parent_id: id, schemas: { method: 'echo' }, inputs: { n: 1 } },
  ];
  return (await started(await on.engine.execute({ tasks })).done).status;
};

/** Creates the tree first, then runs it: the run's start reads the stored rows (`SELECT *`). */
const runStoredTree = async (on: Awaited<ReturnType<typeof testApp>>, id: string) => {
  await on.engine.createTree([{ id, name: id, schemas: { method: 'noop' } }]);
  return (await started(await on.engine.execute(id)).done).status;
};

describe('PostgreSQL prepared statements', { skip: postgres ? false : 'no test PostgreSQL' }, () => {
  test('prepared by default, but not a statement whose result is *; none when the setting is off', async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const on = await app(t, url);
    assert.equal(await runTree(on, 'prepared'), 'completed');
    const statements = await preparedAfter(on);
    assert.ok(statements.includes('SELECT CAST($1 AS integer) AS one'), statements.join('\n'));
    assert.ok(!statements.some((text) => text.includes('SELECT * FROM apflow_tasks WHERE id')), statements.join('\n'));
    await on.close();
    const off = await app(t, url, false);
    assert.equal(await runTree(off, 'unprepared'), 'completed');
    assert.deepEqual(await preparedAfter(off), []);
  });

  test('a statement of a write transaction is planned once, generically, not again at every call', async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const on = await app(t, url);
    const text = 'SELECT id FROM apflow_tasks WHERE id = ANY(CAST(? AS text[])) AND parent_id IS NULL';
    const plans = await on.storage.sql.write(async (runner) => {
      for (let i = 0; i < 8; i++) await runner.select(text, [[`task-${i}`]]);
      return runner.select<{ generic_plans: number | string; custom_plans: number | string }>(
        'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = ?',
        ['SELECT id FROM apflow_tasks WHERE id = ANY(CAST($1 AS text[])) AND parent_id IS NULL'],
      );
    });
    // Left to choose, PostgreSQL plans each of the first five calls for its values.
    assert.deepEqual(
      plans.map((row) => [Number(row.generic_plans), Number(row.custom_plans)]),
      [[8, 0]],
    );
  });

  test('a column added by another server meanwhile (its migration) does not stop the engine', async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const on = await app(t, url);
    const readAll = () =>
      on.storage.sql.write((runner) => runner.select('SELECT * FROM apflow_tasks WHERE id = ?', ['x']));
    for (let i = 0; i < 8; i++) {
      await readAll();
      assert.equal(await runTree(on, `before-${i}`), 'completed');
      assert.equal(await runStoredTree(on, `stored-before-${i}`), 'completed');
    }
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    t.after(() => other.end());
    await other.query('ALTER TABLE apflow_tasks ADD COLUMN added_elsewhere text');
    await other.query('ALTER TABLE apflow_event_batches ADD COLUMN added_elsewhere text');
    for (let i = 0; i < 8; i++) {
      // A prepared `SELECT *` would be refused now ("cached plan must not change result type").
      await readAll();
      assert.equal(await runTree(on, `after-${i}`), 'completed');
      assert.equal(await runStoredTree(on, `stored-after-${i}`), 'completed');
    }
  });
});
