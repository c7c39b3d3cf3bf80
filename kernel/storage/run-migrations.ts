import type { Sequelize } from 'sequelize';
import type { Migration } from './migrations/index.ts';
import type { Sql, SqlRunner } from './sql.ts';

/** Where the migrations run are recorded, one `name` a row (as umzug's storage did, before apflow ran them itself). */
const MIGRATIONS_TABLE = 'apflow_migrations';
/** The PostgreSQL advisory lock servers starting together take turns on. */
const LOCK_KEY = 7301190;

/**
 * Runs migrations (the kernel's and plugins'), each once per database, in the order listed.
 * Which are recorded is read once a start without any lock: a start with nothing to migrate
 * takes no lock and loads no ORM. Pending ones run under the database's migration lock (servers
 * starting together take turns: SQLite's write transaction, a PostgreSQL advisory lock), each
 * with its record atomically: a savepoint on SQLite (Sequelize shares apflow's connection there),
 * a transaction on PostgreSQL, where one written with Sequelize runs on a connection of its own
 * first and is recorded after. The first that fails stops the run: those before it stay.
 * `sequelize` is called only for a migration written with Sequelize.
 */
export function createMigrationRunner(sql: Sql, sequelize: () => Sequelize) {
  let known: Promise<Set<string>> | undefined;

  /** Runs the pending ones of `list` in order until one fails; each in `atomically` with its record. */
  async function applyPending(
    runner: SqlRunner,
    list: readonly Migration[],
    atomically: (step: (tx: SqlRunner) => Promise<void>) => Promise<void>,
  ): Promise<{ done: string[]; failure?: { error: unknown } }> {
    await runner.run(
      sql.dialect === 'postgres'
        ? `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name VARCHAR(255) PRIMARY KEY)`
        : `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY)`,
    );
    const recorded = await recordedIn(runner);
    const record = (tx: SqlRunner, name: string) =>
      tx.run(`INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES (?) ON CONFLICT DO NOTHING`, [name]);
    const done: string[] = [];
    for (const migration of list) {
      if (recorded.has(migration.name)) continue;
      try {
        if ('sql' in migration) {
          const statements = migration.sql(sql.dialect).map((statement) => oneStatement(migration.name, statement));
          await atomically(async (tx) => {
            for (const statement of statements) await tx.run(statement);
            await record(tx, migration.name);
          });
        } else if (sql.dialect === 'sqlite')
          await atomically(async (tx) => {
            await migration.up(sequelize());
            await record(tx, migration.name);
          });
        else {
          // Not inside a retried transaction: a lost connection must not run it twice.
          await migration.up(sequelize());
          await atomically((tx) => record(tx, migration.name));
        }
      } catch (error) {
        // The ones before it stay, recorded; it and the ones after it run at the next start.
        return { done, failure: { error } };
      }
      done.push(migration.name);
    }
    return { done };
  }

  return {
    /** Runs those of `list` not yet recorded; returns the names of those it ran. */
    async run(list: readonly Migration[]): Promise<string[]> {
      if (list.length === 0) return [];
      known ??= recordedIn(sql).catch((error: unknown) => {
        known = undefined;
        throw error;
      });
      const recorded = await known;
      if (list.every((migration) => recorded.has(migration.name))) return [];
      const { done, failure } =
        sql.dialect === 'postgres'
          ? await sql.withSession(
              `SELECT pg_advisory_lock(${LOCK_KEY})`,
              `SELECT pg_advisory_unlock(${LOCK_KEY})`,
              () => applyPending(sql, list, (step) => sql.write(step)),
            )
          : // SQLite's write lock is the migration lock; a savepoint makes each migration atomic.
            await sql.write((tx) => applyPending(tx, list, (step) => savepoint(tx, step)));
      for (const name of done) recorded.add(name);
      if (failure) throw failure.error;
      // The others are recorded too: run by another server while this one waited for the lock.
      for (const migration of list) recorded.add(migration.name);
      return done;
    },
  };

  /** The names of the migrations recorded as run (none before the table exists). */
  async function recordedIn(runner: SqlRunner): Promise<Set<string>> {
    const exists =
      sql.dialect === 'postgres'
        ? await runner.select('SELECT 1 FROM pg_tables WHERE tablename = ? AND schemaname = current_schema()', [
            MIGRATIONS_TABLE,
          ])
        : await runner.select("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]);
    if (exists.length === 0) return new Set();
    const rows = await runner.select<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    return new Set(rows.map((row) => row.name));
  }
}

/**
 * Runs `step` in a savepoint of SQLite transaction `tx`: undone alone if it fails. The step's
 * error is the one thrown (SQLite may have ended the whole transaction, and the undo fail too).
 */
async function savepoint(tx: SqlRunner, step: (tx: SqlRunner) => Promise<void>): Promise<void> {
  await tx.run('SAVEPOINT apflow_migration');
  try {
    await step(tx);
  } catch (error) {
    await tx.run('ROLLBACK TO apflow_migration').catch(() => undefined);
    await tx.run('RELEASE apflow_migration').catch(() => undefined);
    throw error;
  }
  await tx.run('RELEASE apflow_migration');
}

/**
 * `statement`, refused when it holds more than one: SQLite's driver would run the first and drop
 * the rest without a word. Quoted text and comments are not looked into.
 */
function oneStatement(migration: string, statement: string): string {
  const bare = statement.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*/g, '').trim();
  if (/;\s*\S/.test(bare))
    throw new Error(`migration ${migration}: one statement per string (found several in "${statement.slice(0, 60)}…")`);
  return statement;
}
