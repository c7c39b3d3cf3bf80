import type BetterSqlite3 from 'better-sqlite3';
import { runnerOf, type ConnectionManager, type Driver, type Rows } from './sql-driver.ts';

type SqliteDatabase = BetterSqlite3.Database;
type SqliteStatement = BetterSqlite3.Statement<unknown[], Record<string, unknown>>;

/**
 * The SQLite driver: apflow's one connection (better-sqlite3), statements kept prepared.
 *
 * Each statement runs synchronously on the calling thread. A statement's own work is the same
 * as on a thread pool, but none of the hops: an asynchronous driver hands every statement to
 * a pool thread and its answer back through the event loop, and the engine's turn is a chain
 * of statements that each wait for the one before (bench/README.md, "Where the time goes"). The
 * promises it returns keep the calling code's shape: a transaction still awaits its statements,
 * and other work may run between them, as before.
 */
export function sqliteDriver(manager: ConnectionManager): Driver {
  // One SQLite connection, so BEGIN … COMMIT below and the statements in between are one
  // transaction. SQLite has a single writer anyway.
  const connection = () => manager.getConnection({}) as Promise<SqliteDatabase>;
  const statements = createStatementCache();
  const query = async (sql: string, params: unknown[]) => {
    const db = await connection();
    const values = params.map(sqliteValue);
    return patiently(() => statements.all(db, sql, values));
  };
  const inTransaction = runnerOf(query);
  return {
    query,
    close: async () => statements.close(),
    commitOne: async (sql, params) => void (await query(sql, params)),
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

/** How long a statement waits, in all, for another process's write lock (as busy_timeout did). */
const BUSY_WAIT_MS = 5000;

/**
 * Runs `statement`, again after a pause while the database is locked by another connection
 * (another worker or process on the file): the connection's own busy wait is kept to a few
 * milliseconds, because it sleeps on the calling thread and would stop the server meanwhile; the
 * rest of the wait happens here, between turns of the event loop.
 */
async function patiently<T>(statement: () => T): Promise<T> {
  const since = Date.now();
  for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
    try {
      return statement();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() - since > BUSY_WAIT_MS) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** Most distinct statements kept prepared. */
const STATEMENTS_KEPT = 200;
/** Longer texts (long `IN` lists, many-row inserts: their lengths vary) are prepared for one call. */
const KEPT_TEXT_MAX = 2000;

/** Runs statements on one connection, keeping them prepared by text (least recently used dropped first). */
function createStatementCache() {
  let db: SqliteDatabase | null = null;
  let closed = false;
  const kept = new Map<string, SqliteStatement>();
  const prepared = (on: SqliteDatabase, sql: string): SqliteStatement => {
    if (on !== db) {
      kept.clear();
      db = on;
    }
    if (closed || sql.length > KEPT_TEXT_MAX) return on.prepare(sql);
    let statement = kept.get(sql);
    if (statement) kept.delete(sql);
    else {
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value as string);
      statement = on.prepare(sql);
    }
    kept.set(sql, statement);
    return statement;
  };
  return {
    all(on: SqliteDatabase, sql: string, params: unknown[]): Rows {
      const statement = prepared(on, sql);
      if (statement.reader) return statement.all(params);
      statement.run(params);
      return [];
    },
    /** Forgets the statements kept (better-sqlite3 finalizes them with the connection). */
    close(): void {
      closed = true;
      kept.clear();
    },
  };
}

/** SQLite's form of a value: booleans as 0/1, `undefined` as NULL, dates as milliseconds. */
function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value instanceof Date ? value.getTime() : value;
}
