import { ApflowError } from '../errors/apflow-error.ts';
import { redactUrlSecrets } from '../internal/log-redaction.ts';
import type { Logger } from '../internal/logger.ts';

/**
 * How long one storage call keeps retrying a lost database connection, counted from the call
 * (time spent queued behind other writes included). Long enough to ride out a PostgreSQL restart
 * or a short failover (a restart refuses connections for about a second); shorter than the
 * engine's default task lease (30 s), so a heartbeat that rode out an outage still renews its
 * leases in time, and than the 30 s many HTTP clients and proxies wait, so a caller gets an answer.
 */
const RETRY_BOUND_MS = 12_000;
/** The first wait between attempts; each next one doubles, up to {@link MAX_DELAY_MS}. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/** The `sql` method a retried call came through (the `call` field of the log line). */
type StorageCall = 'select' | 'run' | 'write' | 'writeAside' | 'withSession';

/**
 * The connection was lost while a statement that commits (COMMIT, or a write outside a
 * transaction) was in flight: the write may or may not be stored. Never retried (see sql.ts).
 */
export class CommitUnknownError extends Error {
  constructor(cause: unknown) {
    super('database connection lost while a write was being committed', { cause });
    this.name = 'CommitUnknownError';
  }
}

/** Node socket errors a restarting or briefly unreachable server gives. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * PostgreSQL SQLSTATEs of a server going away or not ready yet: admin_shutdown, crash_shutdown,
 * cannot_connect_now (starting up, shutting down, in recovery), too_many_connections (the slots
 * a restart freed are not back yet). Class 08 (connection exceptions) is matched as a class.
 */
const POSTGRES_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Sequelize's wrappers that say the connection itself failed (ConnectionError is judged by its cause). */
const SEQUELIZE_NAMES = new Set([
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
]);
/** node-postgres errors without a code, for a socket that closed under a query. */
const PG_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
];

/**
 * Whether `error` (or what it wraps) is a lost or refused database connection that a later
 * attempt may not meet. Constraint violations, syntax errors, serialization failures, a wrong
 * password or a missing database are not. SQLite has no connection to lose, and its one
 * contention error (SQLITE_BUSY) surfaces only after `busy_timeout` has already waited and
 * retried (apflow's writes take the write lock up front, so SQLite never skips that wait):
 * nothing SQLite answers is retried here.
 */
export function isTransientConnectionError(error: unknown): boolean {
  for (const link of causes(error)) {
    if (link instanceof CommitUnknownError) return false;
    const { code, name, message } = link as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code)) return true;
      if (code.startsWith('08') && code !== '08P01') return true;
    }
    if (typeof name === 'string' && SEQUELIZE_NAMES.has(name)) return true;
    if (typeof message === 'string' && PG_MESSAGES.some((text) => message.startsWith(text))) return true;
  }
  return false;
}

/**
 * The one retry of storage calls: runs an attempt again while it fails with a transient
 * connection error ({@link isTransientConnectionError}), waiting 100 ms, 200 ms, … up to 2 s
 * between attempts, until {@link RETRY_BOUND_MS} (12 s) after the call. Each retry is logged
 * once at warn (`database connection lost; retrying`), and giving up once more (`…; giving up`),
 * with the same fields (`call`, `attempt`, `elapsed_ms`, `code`, `error`; never the connection
 * string). A call that gives up, or whose commit is unknown, fails with APF_UNAVAILABLE;
 * any other error is passed on at once, as it was.
 */
export function createTransientRetry(log: Logger) {
  let closed = false;
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const fields = (call: StorageCall, attempt: number, since: number, error: unknown) => ({
    call,
    attempt,
    elapsed_ms: Date.now() - since,
    code: codeOf(error),
    error: redactUrlSecrets(messageOf(error)),
  });
  const giveUp = (call: StorageCall, attempt: number, since: number, error: unknown): ApflowError => {
    log.warn(fields(call, attempt, since, error), 'database connection lost; giving up');
    const message =
      error instanceof CommitUnknownError
        ? 'Database connection lost while a write was being committed: it may or may not be stored'
        : `Database unreachable: gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
    return new ApflowError('APF_UNAVAILABLE', { message, cause: error });
  };

  return {
    /** Runs `attempt` until it succeeds, fails for good, or the bound from `since` (ms epoch) passes. */
    async run<T>(call: StorageCall, attempt: () => Promise<T>, since = Date.now()): Promise<T> {
      for (let n = 1; ; n++) {
        try {
          return await attempt();
        } catch (error) {
          if (error instanceof CommitUnknownError) throw giveUp(call, n, since, error);
          if (!isTransientConnectionError(error)) throw error;
          const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (n - 1));
          if (closed || Date.now() + delay - since > RETRY_BOUND_MS) throw giveUp(call, n, since, error);
          log.warn({ ...fields(call, n, since, error), retry_in_ms: delay }, 'database connection lost; retrying');
          await sleep(delay);
          if (closed) throw giveUp(call, n, since, error);
        }
      }
    },
    /** Stops retrying: calls waiting for their next attempt give up now (the storage is closing). */
    close(): void {
      closed = true;
      for (const wake of sleepers) wake();
    },
  };
}

/** A transient retry (see {@link createTransientRetry}). */
export type TransientRetry = ReturnType<typeof createTransientRetry>;

/** `error` and what it wraps (`cause`, and Sequelize's `parent` / `original`), a few links deep. */
function* causes(error: unknown): Generator<object> {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length && seen.size < 8) {
    const link = queue.shift();
    if (typeof link !== 'object' || link === null || seen.has(link)) continue;
    seen.add(link);
    yield link;
    const { cause, parent, original } = link as { cause?: unknown; parent?: unknown; original?: unknown };
    queue.push(cause, parent, original);
  }
}

function codeOf(error: unknown): string | undefined {
  for (const link of causes(error)) {
    const { code } = link as { code?: unknown };
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof CommitUnknownError ? `${error.message}: ${messageOf(error.cause)}` : String(error);
}
