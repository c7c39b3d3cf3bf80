import type { TaskEngine } from '../engine/task-engine.ts';
import { createIdempotency, type Idempotency } from '../idempotency/idempotency.ts';
import type { Logger } from '../internal/logger.ts';
import type { Storage } from '../storage/create-storage.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';

/**
 * The task engine as plugins get it: everything but `start` and `close` (the kernel starts and
 * closes the engine) and `owner` (the kernel's lease owner id; plugins get `PluginApp.serverId`).
 */
export type PluginEngine = Omit<TaskEngine, 'start' | 'close' | 'owner'>;

/**
 * The database as plugins get it: raw SQL for their own tables (`<plugin>_…`, created by
 * `definePlugin({ migrations })`), never the connection pool, the kernel's migrations or closing.
 */
export type PluginStorage = Pick<Storage, 'sql' | 'dialect'>;

/**
 * Builds the engine view plugins get: a frozen object without the kernel's members, so no cast
 * reaches them (the members are picked by name: the view follows the engine's signatures).
 */
function createPluginEngine(engine: TaskEngine): PluginEngine {
  const { start: _start, close: _close, owner: _owner, ...view } = engine;
  return Object.freeze(view);
}

/** Builds the storage view plugins get: a frozen object with `sql` and `dialect` only. */
function createPluginStorage(storage: Storage): PluginStorage {
  return Object.freeze({ sql: storage.sql, dialect: storage.dialect });
}

/** The usage ledger as plugins read it: sums per task, per tree, per user and day (the kernel records). */
export type PluginUsage = Omit<UsageLedger, 'record'>;

/** What plugins get of one server's engine and database: built once, the same in every generation. */
export interface PluginViews {
  engine: PluginEngine;
  storage: PluginStorage;
  /** The engine's owner id: this server (process) on the database. */
  serverId: string;
  /** Requests that run once per idempotency key (the keys live in the database, shared by every server). */
  idempotency: Idempotency;
  /** LLM calls' tokens and costs, summed (the ledger is in the database, shared by every server). */
  usage: PluginUsage;
}

/**
 * Builds the views of one server. Once per server, not per generation: plugins may key
 * process-wide state by `app.engine` (it outlives reloads, and two servers keep theirs apart).
 */
export function createPluginViews(engine: TaskEngine, storage: Storage, ledger: UsageLedger, log: Logger): PluginViews {
  return {
    engine: createPluginEngine(engine),
    storage: createPluginStorage(storage),
    serverId: engine.owner,
    idempotency: Object.freeze(createIdempotency({ sql: storage.sql, log })),
    usage: Object.freeze({
      ofTasks: ledger.ofTasks,
      ofTrees: ledger.ofTrees,
      ofTreeTasks: ledger.ofTreeTasks,
      byDay: ledger.byDay,
    }),
  };
}
