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
/**
 * Longer texts are prepared for one call: a text that long is most likely built with a value
 * list that varies from call to call (apflow's own batches are one JSON parameter: sql.ts).
 */
const KEPT_TEXT_MAX = 8000;

/** A prepared statement; a reader's rows come as arrays (`raw`) and `build` makes each an object. */
interface Kept {
  statement: SqliteStatement;
  build?: (values: unknown[]) => Record<string, unknown>;
}

/** Runs statements on one connection, keeping them prepared by text (least recently used dropped first). */
function createStatementCache() {
  let db: SqliteDatabase | null = null;
  let closed = false;
  const kept = new Map<string, Kept>();
  const prepare = (on: SqliteDatabase, sql: string): Kept => {
    const statement: SqliteStatement = on.prepare(sql);
    if (!statement.reader) return { statement };
    statement.raw(true);
    return { statement, build: rowBuilder(statement.columns().map((column) => column.name)) };
  };
  const prepared = (on: SqliteDatabase, sql: string): Kept => {
    if (on !== db) {
      kept.clear();
      db = on;
    }
    if (closed || sql.length > KEPT_TEXT_MAX) return prepare(on, sql);
    let entry = kept.get(sql);
    if (entry) kept.delete(sql);
    else {
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value as string);
      entry = prepare(on, sql);
    }
    kept.set(sql, entry);
    return entry;
  };
  return {
    all(on: SqliteDatabase, sql: string, params: unknown[]): Rows {
      const { statement, build } = prepared(on, sql);
      if (build) return (statement.all(params) as unknown as unknown[][]).map(build);
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

/**
 * Makes a row object from a raw row, for statements with these result columns. better-sqlite3
 * builds each row object property by property through V8's API; a function made once per
 * statement, whose object literal names every column, builds them several times faster (64 rows
 * of 39 columns, a claim's: 0.42 ms as objects, 0.18 ms as arrays made into objects). A repeated
 * name keeps its last value, as better-sqlite3's objects do.
 */
function rowBuilder(names: readonly string[]): (values: unknown[]) => Record<string, unknown> {
  // JSON.stringify quotes any name; `__proto__` as a literal key would set the prototype instead.
  const fields = names.map(
    (name, i) => `${name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)}: values[${i}]`,
  );
  return new Function('values', `return { ${fields.join(', ')} };`) as (values: unknown[]) => Record<string, unknown>;
}

/** SQLite's form of a value: booleans as 0/1, `undefined` as NULL, dates as milliseconds. */
function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value instanceof Date ? value.getTime() : value;
}
