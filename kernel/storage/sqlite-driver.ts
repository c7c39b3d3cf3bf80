import { runnerOf, type ConnectionManager, type Driver, type Rows } from './sql-driver.ts';

type SqliteStatement = {
  all(params: unknown[], done: (error: Error | null, rows: Rows) => void): void;
  finalize(done: () => void): void;
};
type SqliteDatabase = {
  prepare(sql: string, done: (error: Error | null) => void): SqliteStatement;
  all(sql: string, params: unknown[], done: (error: Error | null, rows: Rows) => void): void;
};

/** The SQLite driver: Sequelize's one connection, statements kept prepared. */
export function sqliteDriver(manager: ConnectionManager): Driver {
  // Sequelize's own shared connection: one SQLite connection, so BEGIN … COMMIT below and the
  // statements in between are one transaction. SQLite has a single writer anyway.
  const connection = () => manager.getConnection({}) as Promise<SqliteDatabase>;
  const statements = createStatementCache();
  const query = async (sql: string, params: unknown[]) =>
    statements.all(await connection(), sql, params.map(sqliteValue));
  const inTransaction = runnerOf(query);
  return {
    query,
    close: () => statements.close(),
    async session(open, close, work) {
      await query(open, []);
      try {
        return await work();
      } finally {
        await query(close, []).catch(() => undefined);
      }
    },
    async transaction(work) {
      await query('BEGIN IMMEDIATE', []);
      try {
        const result = await work(inTransaction);
        await query('COMMIT', []);
        return result;
      } catch (error) {
        await query('ROLLBACK', []).catch(() => undefined);
        throw error;
      }
    },
  };
}

/** Most distinct statements kept prepared. */
const STATEMENTS_KEPT = 200;
/** Longer texts (long `IN` lists, many-row inserts: their lengths vary) are prepared for one call. */
const KEPT_TEXT_MAX = 2000;

/**
 * Runs statements on one SQLite connection, keeping them prepared by text (least recently used
 * dropped first). Through `Database#all` a statement is prepared, run and finalized in three
 * trips to the driver's thread pool, each back through the event loop; kept prepared, it takes
 * one. SQLite refuses to close a connection with statements prepared: `close` finalizes them
 * all, and from then on every call is a one-off again.
 */
function createStatementCache() {
  let db: SqliteDatabase | null = null;
  let closed = false;
  const kept = new Map<string, Promise<SqliteStatement>>();
  const finalizing = new Set<Promise<void>>();
  const drop = (sql: string) => {
    const statement = kept.get(sql);
    if (!statement) return;
    kept.delete(sql);
    // Finalized behind the calls already made on it.
    const done = statement
      .then((prepared) => new Promise<void>((resolve) => prepared.finalize(resolve)))
      .catch(() => undefined);
    finalizing.add(done);
    void done.then(() => finalizing.delete(done));
  };
  const prepared = (on: SqliteDatabase, sql: string): Promise<SqliteStatement> => {
    if (on !== db) {
      for (const text of [...kept.keys()]) drop(text);
      db = on;
    }
    let statement = kept.get(sql);
    if (statement) kept.delete(sql);
    else {
      if (kept.size >= STATEMENTS_KEPT) drop(kept.keys().next().value as string);
      statement = new Promise((resolve, reject) => {
        const made = on.prepare(sql, (error) => (error ? reject(error) : resolve(made)));
      });
      // A statement that does not prepare is not kept: the error goes to this call alone.
      statement.catch(() => kept.get(sql) === statement && kept.delete(sql));
    }
    kept.set(sql, statement);
    return statement;
  };
  return {
    async all(on: SqliteDatabase, sql: string, params: unknown[]): Promise<Rows> {
      const statement = closed || sql.length > KEPT_TEXT_MAX ? null : await prepared(on, sql);
      return new Promise<Rows>((resolve, reject) => {
        const done = (error: Error | null, rows: Rows) => (error ? reject(error) : resolve(rows));
        if (statement) statement.all(params, done);
        else on.all(sql, params, done);
      });
    },
    /** Finalizes every statement kept; a connection closes only once they are. */
    async close(): Promise<void> {
      closed = true;
      for (const text of [...kept.keys()]) drop(text);
      await Promise.all([...finalizing]);
    },
  };
}

function sqliteValue(value: unknown): unknown {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}
