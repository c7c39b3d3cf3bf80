import type { Sequelize } from 'sequelize';
import { CommitUnknownError, isTransientConnectionError, type TransientRetry } from './transient-retry.ts';

/** SQL types apflow casts parameters to. */
export type SqlType = 'integer' | 'double precision' | 'boolean' | 'jsonb' | 'timestamptz';

/** A statement and its parameters. */
export type Statement = readonly [sql: string, params: unknown[]];

/** Runs statements: everywhere, or inside one write transaction. */
export type SqlRunner = {
  /** Rows of a SELECT (or of an UPDATE … RETURNING). */
  select<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A statement without rows. */
  run(sql: string, params?: unknown[]): Promise<void>;
};

/** A statement that only reads (run again after a lost connection, it changes nothing). */
const READ = /^\s*select\b/i;

/** The few calls apflow makes on a driver connection. */
interface Driver {
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs `open` and `close` on one connection around `work` (which may use any connection). */
  session<T>(open: string, close: string, work: () => Promise<T>): Promise<T>;
  /** Runs `work` in a transaction on one connection. */
  transaction<T>(work: (runner: SqlRunner) => Promise<T>): Promise<T>;
  /** Lets go of what the driver keeps on its connections (before they close). */
  close(): Promise<void>;
}

type Rows = Record<string, unknown>[];
type SqliteStatement = {
  all(params: unknown[], done: (error: Error | null, rows: Rows) => void): void;
  finalize(done: () => void): void;
};
type SqliteDatabase = { prepare(sql: string, done: (error: Error | null) => void): SqliteStatement };
type PgClient = { query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };
type ConnectionManager = {
  getConnection(options?: Record<string, unknown>): Promise<unknown>;
  releaseConnection(connection: unknown): void;
};

/**
 * Raw SQL for the hot paths, on the connections Sequelize opened (it keeps doing migrations and
 * connection management). Statements use `?` placeholders with bound parameters; the places
 * where SQLite and PostgreSQL differ are here. Writes go through {@link Sql.write}, one
 * transaction at a time, so the engine can batch many transitions into one commit.
 *
 * Every call goes through `retry` as a whole (a read, a whole write transaction, a whole
 * session): a lost connection is retried, bounded, on a fresh one (transient-retry.ts). A
 * transaction that lost its connection was rolled back, so running it again is safe; `work` must
 * therefore be fit to run again (the engine's transactions are: they re-read what they decide
 * on). Only a connection lost while a commit was in flight is not retried: the write may have
 * landed, and running it again could store it twice (a tree created again would find its ids
 * taken, and tasks.create gives a tree with taken ids fresh ones), so that call fails with
 * APF_UNAVAILABLE saying the write may or may not be stored.
 */
export function createSql(sequelize: Sequelize, retry: TransientRetry) {
  const pg = sequelize.getDialect() === 'postgres';
  const manager = (sequelize as unknown as { connectionManager: ConnectionManager }).connectionManager;
  const driver = pg ? postgresDriver(manager) : sqliteDriver(manager);
  return {
    sql: createRunners(pg, driver, retry),
    /** Lets go of what the driver keeps (prepared statements): call before the connections close. */
    release: () => driver.close(),
  };
}

function createRunners(pg: boolean, driver: Driver, retry: TransientRetry) {
  // Once, not retried: writeAside and sessions retry as a whole around it.
  const once: SqlRunner = {
    select: <T>(sql: string, params: unknown[] = []) => driver.query(sql, params) as Promise<T[]>,
    run: async (sql: string, params: unknown[] = []) => {
      await driver.query(sql, params);
    },
  };
  const runner: SqlRunner = {
    select: <T>(sql: string, params?: unknown[]) => retry.run('select', () => once.select<T>(sql, params)),
    run: (sql: string, params?: unknown[]) => retry.run('run', () => once.run(sql, params)),
  };
  let queue: Promise<unknown> = Promise.resolve();

  return {
    dialect: pg ? ('postgres' as const) : ('sqlite' as const),
    ...runner,
    /** A placeholder for a JSON value (pass `jsonParam(value)`). */
    json: pg ? 'CAST(? AS jsonb)' : '?',
    /** A placeholder for a timestamp (pass an ISO string or null). */
    time: pg ? 'CAST(? AS timestamptz)' : '?',
    /** A placeholder of SQL type `type` (PostgreSQL cannot guess the type of a bare parameter everywhere). */
    typed: (type: SqlType) => (pg ? `CAST(? AS ${type})` : '?'),
    /** `expression` read as `type`: cast on PostgreSQL, as is on SQLite (which converts by column). */
    valueOf: (expression: string, type: SqlType | undefined) =>
      pg && type ? `CAST(${expression} AS ${type})` : expression,
    /**
     * Runs `open` before and `close` after `work` on one connection (a lock held for `work`); all
     * three again if the connection is lost (`work` must be fit to run again).
     */
    withSession: <T>(open: string, close: string, work: () => Promise<T>) =>
      retry.run('withSession', () => driver.session(open, close, work)),
    /**
     * Runs `work` in one write transaction; writes of this process are serialised. `work` runs
     * again, in a new transaction, if the connection is lost before the commit.
     */
    write<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
      // The bound counts from the call: a write queued behind retrying ones does not wait longer.
      const since = Date.now();
      const next = queue.then(() => retry.run('write', () => driver.transaction(work), since));
      queue = next.catch(() => undefined);
      return next;
    },
    /**
     * Runs the statements `statements()` makes as one atomic write beside the serialised ones
     * where the database allows: on PostgreSQL on a connection of its own, a single statement
     * without BEGIN/COMMIT (it is atomic by itself: two round trips fewer); SQLite has one writer,
     * so there they queue like {@link write}. For writes that touch no row the engine's
     * transactions change (a new tree). `statements` is called again for each attempt.
     */
    async writeAside(statements: () => Iterable<Statement>): Promise<void> {
      let first: Peeked | null = peek(statements());
      if (first.ahead.length === 0) return;
      const lone = first.ahead.length === 1;
      // The first attempt runs the statements peeked; another one makes them again.
      const each = async (on: SqlRunner) => {
        const { ahead, iterator } = first ?? peek(statements());
        first = null;
        for (const statement of ahead) await on.run(...statement);
        for (let next = iterator.next(); !next.done; next = iterator.next()) await on.run(...next.value);
      };
      if (!pg) return this.write(each);
      return retry.run('writeAside', () => (lone ? each(once) : driver.transaction(each)));
    },
  };
}

/** The first two statements of a batch, made ahead to see whether it is empty or a single one. */
interface Peeked {
  ahead: Statement[];
  iterator: Iterator<Statement>;
}

function peek(statements: Iterable<Statement>): Peeked {
  const iterator = statements[Symbol.iterator]();
  const ahead: Statement[] = [];
  for (let next = iterator.next(); !next.done; next = iterator.next()) if (ahead.push(next.value) === 2) break;
  return { ahead, iterator };
}

/** Raw SQL access with dialect helpers. */
export type Sql = ReturnType<typeof createRunners>;

/** A JSON value as a statement parameter (null stays SQL NULL). */
export function jsonParam(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function sqliteDriver(manager: ConnectionManager): Driver {
  // Sequelize's own shared connection: one SQLite connection, so BEGIN … COMMIT below and the
  // statements in between are one transaction. SQLite has a single writer anyway.
  const connection = () => manager.getConnection({}) as Promise<SqliteDatabase>;
  const statements = createStatementCache();
  const query = async (sql: string, params: unknown[]) => {
    const statement = await statements.get(await connection(), sql);
    return new Promise<Rows>((resolve, reject) =>
      statement.all(params.map(sqliteValue), (error, rows) => (error ? reject(error) : resolve(rows))),
    );
  };
  const inTransaction: SqlRunner = {
    select: <T>(sql: string, params: unknown[] = []) => query(sql, params) as Promise<T[]>,
    run: async (sql: string, params: unknown[] = []) => void (await query(sql, params)),
  };
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

/** Most distinct statements kept prepared (the engine's hot paths use a few dozen). */
const STATEMENTS_KEPT = 200;

/**
 * Prepared statements of one SQLite connection, by SQL text, least recently used dropped first.
 * A statement run through `Database#all` is prepared, run and finalized in three trips to the
 * driver's thread pool, each back through the event loop; kept prepared, it takes one.
 */
function createStatementCache() {
  let db: SqliteDatabase | null = null;
  const kept = new Map<string, Promise<SqliteStatement>>();
  const drop = (sql: string) => {
    const statement = kept.get(sql);
    kept.delete(sql);
    // Finalized behind the calls already made on it.
    statement?.then((prepared) => prepared.finalize(() => undefined)).catch(() => undefined);
  };
  return {
    get(on: SqliteDatabase, sql: string): Promise<SqliteStatement> {
      if (on !== db) {
        for (const text of [...kept.keys()]) drop(text);
        db = on;
      }
      let statement = kept.get(sql);
      if (statement) kept.delete(sql);
      else {
        if (kept.size >= STATEMENTS_KEPT) drop(kept.keys().next().value as string);
        statement = new Promise((resolve, reject) => {
          const prepared = on.prepare(sql, (error) => (error ? reject(error) : resolve(prepared)));
        });
        // A statement that does not prepare is not kept: the error goes to this call alone.
        statement.catch(() => kept.get(sql) === statement && kept.delete(sql));
      }
      kept.set(sql, statement);
      return statement;
    },
    /** Finalizes every statement kept (a connection closes only once they are). */
    async close(): Promise<void> {
      const all = [...kept.values()];
      kept.clear();
      await Promise.all(
        all.map((statement) =>
          statement
            .then((prepared) => new Promise<void>((resolve) => prepared.finalize(resolve)))
            .catch(() => undefined),
        ),
      );
    },
  };
}

function sqliteValue(value: unknown): unknown {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

function postgresDriver(manager: ConnectionManager): Driver {
  const withClient = async <T>(use: (client: PgClient) => Promise<T>): Promise<T> => {
    const client = (await manager.getConnection({ type: 'write' })) as PgClient;
    try {
      return await use(client);
    } finally {
      manager.releaseConnection(client);
    }
  };
  const on = (client: PgClient) => async (sql: string, params: unknown[]) =>
    (await client.query(numbered(sql), params)).rows;
  return {
    close: async () => undefined,
    // Outside a transaction a statement other than a SELECT commits by itself.
    query: (sql, params) =>
      withClient((client) => (READ.test(sql) ? on(client)(sql, params) : committing(() => on(client)(sql, params)))),
    session: (open, close, work) =>
      withClient(async (client) => {
        await client.query(open, []);
        try {
          return await work();
        } finally {
          await client.query(close, []).catch(() => undefined);
        }
      }),
    transaction: (work) =>
      withClient(async (client) => {
        const query = on(client);
        // Write transactions pick rows by key and probe trees through their indexes. Whatever the
        // planner's statistics say (none on a fresh table; skewed ones after a big tree, where
        // one root holds most rows), a sequential scan per probe is never the better plan there,
        // nor is compiling a short statement (JIT, tens of milliseconds, set off by a high cost
        // estimate): both off for the transaction, in the same round trip as BEGIN (without
        // parameters one simple query may hold several statements).
        await client.query('BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL jit = off');
        try {
          const result = await work({
            select: <T>(sql: string, params: unknown[] = []) => query(sql, params) as Promise<T[]>,
            run: async (sql: string, params: unknown[] = []) => void (await query(sql, params)),
          });
          await committing(() => query('COMMIT', []));
          return result;
        } catch (error) {
          await query('ROLLBACK', []).catch(() => undefined);
          throw error;
        }
      }),
  };
}

/**
 * Sends a statement that commits: a connection lost before its answer leaves the commit unknown
 * ({@link CommitUnknownError}, never retried). Losing it before (acquiring the connection,
 * BEGIN, the statements of the transaction) is retried: nothing was stored then.
 */
async function committing<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const unsent = error instanceof Error && error.message.startsWith(NEVER_SENT);
    throw isTransientConnectionError(error) && !unsent ? new CommitUnknownError(error) : error;
  }
}

/** node-postgres refuses a query on a client it already knows is broken: that query never left. */
const NEVER_SENT = 'Client has encountered a connection error and is not queryable';

const numberedCache = new Map<string, string>();

/** `?` placeholders as PostgreSQL's `$1, $2, …` (apflow's statements hold no literal `?`). */
function numbered(sql: string): string {
  let out = numberedCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    if (sql.length < 2000 && numberedCache.size < 500) numberedCache.set(sql, out);
  }
  return out;
}
