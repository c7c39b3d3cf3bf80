import { collectingRunner, oneStatement, ONE_STATEMENT_PARTS, spillingRunner } from './one-statement.ts';
import { postgresDriver } from './postgres-driver.ts';
import { runnerOf, type ConnectionManager, type Driver } from './sql-driver.ts';
import { sqliteDriver } from './sqlite-driver.ts';
import type { TransientRetry } from './transient-retry.ts';

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

/**
 * Raw SQL for every query apflow makes (Sequelize runs only migrations). Statements use `?` placeholders with bound parameters; the places
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
export function createSql(
  dialect: 'sqlite' | 'postgres',
  manager: ConnectionManager,
  retry: TransientRetry,
  options: { preparedStatements?: boolean } = {},
) {
  const pg = dialect === 'postgres';
  const driver = pg
    ? postgresDriver(manager, { prepare: options.preparedStatements !== false })
    : sqliteDriver(manager);
  return {
    sql: createRunners(pg, driver, retry),
    /** One statement, never retried (a health check reports what it finds). */
    once: (statement: string) => driver.query(statement, []),
    /** Lets go of what the driver keeps (prepared statements): call before the connections close. */
    release: () => driver.close(),
  };
}

function createRunners(pg: boolean, driver: Driver, retry: TransientRetry) {
  // Once, not retried: writeAside and sessions retry as a whole around it.
  const once = runnerOf((sql, params) => driver.query(sql, params));
  const runner: SqlRunner = {
    select: <T>(sql: string, params?: unknown[]) => retry.run('select', () => once.select<T>(sql, params)),
    run: (sql: string, params?: unknown[]) => retry.run('run', () => once.run(sql, params)),
  };
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs `attempt` (again if the connection is lost before its commit) after the writes queued before it. */
  const queued = <T>(attempt: () => Promise<T>): Promise<T> => {
    // The bound counts from the call: a write queued behind retrying ones does not wait longer.
    const since = Date.now();
    const next = queue.then(() => retry.run('write', attempt, since));
    queue = next.catch(() => undefined);
    return next;
  };
  /** `statements` as one where the database takes them so (one-statement.ts); else null. */
  const asOne = (statements: readonly Statement[]): Statement | null =>
    statements.length === 1
      ? (statements[0] as Statement)
      : pg && statements.length > 1 && statements.length <= ONE_STATEMENT_PARTS
        ? oneStatement(statements)
        : null;

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
     * `expression IN (values)`, as SQL and its parameters: one parameter, so the statement's text
     * is the same at any count (prepared once, and the server parses a short one): on PostgreSQL an
     * array (`= ANY(…)`), on SQLite a JSON array (`json_each`).
     */
    among(expression: string, values: readonly unknown[], type: SqlType | 'text' = 'text'): Statement {
      return pg
        ? [`${expression} = ANY(CAST(? AS ${type}[]))`, [values]]
        : [`${expression} IN (SELECT value FROM json_each(?))`, [sqliteJson(values)]];
    },
    /**
     * A table of `rows` named `alias`, with columns `column1` … `columnN` of `types` (`text` where
     * left out), to join or insert from, as SQL and its parameters, the same short text at any
     * count (a hundred-row `VALUES` list costs more to parse and plan than to write, and its text
     * changes with the count, so it is prepared again each time): on PostgreSQL one array per
     * column (`unnest`), on SQLite one JSON array of rows, read as JSONB (`jsonb_each`: each column
     * taken from the binary form, as fast as bound parameters; from JSON text every column would
     * parse its row again).
     */
    table(
      alias: string,
      types: readonly (SqlType | 'text' | undefined)[],
      rows: readonly (readonly unknown[])[],
    ): Statement {
      if (!pg) {
        const columns = types.map((_, i) => `value ->> ${i} AS column${i + 1}`).join(', ');
        return [`(SELECT ${columns} FROM jsonb_each(jsonb(?))) AS ${alias}`, [sqliteJson(rows)]];
      }
      const arrays = types.map(
        (type, i) => [`CAST(? AS ${type ?? 'text'}[])`, rows.map((row) => row[i] ?? null)] as const,
      );
      const names = types.map((_, i) => `column${i + 1}`).join(', ');
      return [
        `unnest(${arrays.map(([cast]) => cast).join(', ')}) AS ${alias}(${names})`,
        arrays.map(([, values]) => values),
      ];
    },
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
      return queued(() => driver.transaction(work));
    },
    /**
     * Like {@link write}, for `work` that only writes: its runner collects the writes (and refuses
     * reads), sent once `work` is done as one atomic write. On PostgreSQL a few are one statement
     * that commits by itself (one-statement.ts: no BEGIN and COMMIT round trips); more go in a
     * transaction — on PostgreSQL opened once there are more, each write sent as it is made; on
     * SQLite, where a transaction costs no round trip, once `work` is done. The writes must touch
     * different rows (on PostgreSQL none sees another's changes).
     */
    writeAtOnce<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
      return queued(async () => {
        const spilling = pg ? spillingRunner((each) => driver.transaction(each)) : null;
        const collected: Statement[] = [];
        let value: T;
        try {
          value = await work(spilling?.runner ?? collectingRunner(collected));
        } catch (error) {
          await spilling?.abandon();
          throw error;
        }
        const statements = spilling ? await spilling.finish() : collected;
        const one = asOne(statements);
        if (one) await driver.commitOne(...one);
        else if (statements.length) await driver.transaction((on) => runEach(on, statements));
        return value;
      });
    },
    /**
     * Runs writes inside a transaction (on the `runner` of {@link write}) in one round trip where
     * the database allows: on PostgreSQL a few of them as one statement (one-statement.ts); else
     * one by one. The writes must touch different rows (none sees another's changes there).
     */
    async together(runner: SqlRunner, statements: readonly Statement[]): Promise<void> {
      const one = asOne(statements);
      return one ? runner.run(...one) : runEach(runner, statements);
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
      // The first attempt runs the statements peeked; another one makes them again.
      const again = (): Peeked => {
        const peeked = first ?? peek(statements());
        first = null;
        return peeked;
      };
      const each = async (on: SqlRunner) => {
        const { ahead, iterator } = again();
        await runEach(on, ahead);
        for (let next = iterator.next(); !next.done; next = iterator.next()) await on.run(...next.value);
      };
      if (!pg) return this.write(each);
      if (first.ahead.length > 1) return retry.run('writeAside', () => driver.transaction(each));
      return retry.run('writeAside', () => driver.commitOne(...(again().ahead[0] as Statement)));
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

async function runEach(runner: SqlRunner, statements: readonly Statement[]): Promise<void> {
  for (const statement of statements) await runner.run(...statement);
}

/**
 * Values as one JSON text for SQLite's `json_each`: read back as SQL values, booleans as 1 and 0
 * (as the driver binds them), a date as its ISO text (how apflow stores times).
 */
const sqliteJson = (values: readonly unknown[]): string => JSON.stringify(values);

/** Raw SQL access with dialect helpers. */
export type Sql = ReturnType<typeof createRunners>;

/** A JSON value as a statement parameter (null stays SQL NULL). */
export function jsonParam(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
