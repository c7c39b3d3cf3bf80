import type { ConnectionManager, Driver } from './sql-driver.ts';
import { apflowTypes as types } from './postgres-types.ts';
import { pipelinedTransaction } from './pipelined-transaction.ts';
import { CommitUnknownError, isTransientConnectionError } from './transient-retry.ts';

/** A statement that only reads (run again after a lost connection, it changes nothing). */
const READ = /^\s*select\b/i;

type PgQuery = { name?: string; text: string; values?: unknown[]; types: typeof types };
type PgClient = {
  query(sql: string | PgQuery, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
};

/**
 * The PostgreSQL driver: a pooled connection per call or transaction. With `prepare`, the
 * statements of write transactions (the engine's turns: the same few texts over and over, their
 * lists passed as arrays) are prepared once per connection and then only bound and run
 * (see {@link preparedName}).
 */
export function postgresDriver(manager: ConnectionManager, options: { prepare: boolean }): Driver {
  const withClient = async <T>(use: (client: PgClient) => Promise<T>): Promise<T> => {
    const client = (await manager.getConnection({ type: 'write' })) as PgClient;
    try {
      return await use(client);
    } finally {
      manager.releaseConnection(client);
    }
  };
  const on = (client: PgClient) => async (sql: string, params: unknown[]) =>
    (await client.query(params.length ? { text: numbered(sql), values: params, types } : { text: sql, types })).rows;
  const onPrepared = (client: PgClient) => async (sql: string, params: unknown[]) => {
    const name = params.length ? preparedName(sql) : undefined;
    if (name === undefined) return on(client)(sql, params);
    return (await client.query({ name, text: numbered(sql), values: params, types })).rows;
  };
  return {
    close: async () => undefined,
    // Outside a transaction a statement other than a SELECT commits by itself.
    query: (sql, params) =>
      withClient((client) => (READ.test(sql) ? on(client)(sql, params) : committing(() => on(client)(sql, params)))),
    commitOne: (sql, params) =>
      withClient(
        async (client) => void (await committing(() => (options.prepare ? onPrepared : on)(client)(sql, params))),
      ),
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
        // Write transactions pick rows by key and probe trees through their indexes. Whatever the
        // planner's statistics say (none on a fresh table; skewed ones after a big tree, where
        // one root holds most rows), a sequential scan per probe is never the better plan there,
        // nor a sort of every ready task for a claim rather than reading the ready index in order,
        // nor a bitmap scan that loses that order, nor compiling a short statement (JIT, tens of
        // milliseconds, set off by a high cost estimate): all off for the transaction, with BEGIN
        // (without parameters one simple query may hold several statements). And a prepared
        // statement keeps one generic plan: left to choose, PostgreSQL planned a turn's lock, probe
        // and events again at every call (their custom plans looked cheaper): ~6% of its CPU.
        const tx = pipelinedTransaction(
          (options.prepare ? onPrepared : on)(client),
          'BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_generic_plan',
        );
        try {
          const result = await work(tx.runner);
          await tx.commit(commitFailure);
          return result;
        } catch (error) {
          await tx.settle();
          await client.query('ROLLBACK').catch(() => undefined);
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
    throw commitFailure(error);
  }
}

/** What a statement that commits failing means: unknown when the connection was lost with it sent. */
function commitFailure(error: unknown): unknown {
  const unsent = error instanceof Error && error.message.startsWith(NEVER_SENT);
  return isTransientConnectionError(error) && !unsent ? new CommitUnknownError(error) : error;
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

/** Distinct statement texts prepared (per connection, as each first runs there), at most. */
const PREPARED_MAX = 300;
const preparedNames = new Map<string, string>();
/** `SELECT *`, `RETURNING *`, `t.*`: a result shaped by the table's columns. */
const ALL_COLUMNS = /(?:select|returning|,)\s*(?:\w+\.)?\*/i;

/**
 * The name a statement is prepared under, or undefined to send it unprepared. Unprepared: texts
 * beyond the first {@link PREPARED_MAX} (a text built per call must not fill every connection with
 * plans), and results of `*`: once a migration adds a column (another server upgrading first),
 * PostgreSQL refuses to run such a prepared statement again ("cached plan must not change result
 * type"); any other is planned again by itself after a schema change.
 */
function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < PREPARED_MAX && !ALL_COLUMNS.test(sql)) {
    name = `apflow_${preparedNames.size + 1}`;
    preparedNames.set(sql, name);
  }
  return name;
}
