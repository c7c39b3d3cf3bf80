import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { TaskEvent } from '../../../kernel/hooks/hook-types.ts';
import { createLogger, type Logger } from '../../../kernel/internal/logger.ts';
import { createOwnerId, retireOwner } from '../../../kernel/engine/engine-owner.ts';
import { createSignalBus, type SignalBus } from '../../../kernel/engine/signal-bus.ts';
import { createTaskRepository, type TaskRepository } from '../../../kernel/engine/task-repository.ts';
import { createTransactor, type Transact } from '../../../kernel/engine/transactor.ts';
import type { RunBegun } from '../../../kernel/engine/begin-runs.ts';
import { createRequestScopes } from '../../../kernel/engine/request-scopes.ts';
import { createRunMemory } from '../../../kernel/engine/run-memory.ts';
import type { EngineCore, EngineMode, EngineSettings } from '../../../kernel/engine/engine-core.ts';
import type { ExecutorDefinition } from '../../../kernel/executors/define-executor.ts';
import { createExecutorTable } from '../../../kernel/executors/executor-table.ts';
import { createHooks } from '../../../kernel/hooks/hooks.ts';
import { createOutbound } from '../../../kernel/outbound/outbound-policy.ts';
import { strictRules } from '../../../kernel/outbound/outbound-rules.ts';
import { createSelfAddresses } from '../../../kernel/outbound/self-addresses.ts';
import { createTreeHub, type TreeHub } from '../../../kernel/engine/tree-hub.ts';
import { buildShape, createShapeCache, type ShapeCache, type TreeShape } from '../../../kernel/engine/tree-shape.ts';
import type { Storage } from '../../../kernel/storage/create-storage.ts';
import type { Sql } from '../../../kernel/storage/sql.ts';
import { buildTaskTree } from '../../../kernel/tasks/build-task-tree.ts';
import type { TaskRow } from '../../../kernel/tasks/task-record.ts';
import { openStorage, testDatabases } from '../../databases.ts';

const sqlite = testDatabases().find((db) => db.name === 'sqlite');

/** A task of a tree to insert: `name` defaults to the id. */
export type TaskSpec = { id: string; name?: string } & Record<string, unknown>;

/** The engine's real pieces on a fresh SQLite file (see {@link engineParts}). */
export interface Parts {
  url: string;
  log: Logger;
  storage: Storage;
  sql: Sql;
  repo: TaskRepository;
  /** The lease owner of {@link Parts.transact} (a live engine id of this process). */
  owner: string;
  shapes: ShapeCache;
  signals: SignalBus;
  /** The live listeners of each tree: every event `transact` commits is published to it. */
  hub: TreeHub;
  /** Runs `cleanup` when the test ends, before the storage closes (the last one given first). */
  cleanup(cleanup: () => unknown): void;
  /** Engine transactions as this engine (`owner`) writes them. */
  transact: Transact;
  /** Hears the commits of `transact` that left ready tasks unclaimed (the engine kicks its loop then). */
  onReadied(listener: () => void): void;
  /** Every event `transact` announced after its commit, in order. */
  announced: TaskEvent[];
  /** Resolves with the first announced event (already or from now on) that matches. */
  until(match: (event: TaskEvent) => boolean): Promise<TaskEvent>;
  /** Stores a tree (root first in the array, or wherever: the builder finds it); returns its rows, root first. */
  insert(tasks: readonly TaskSpec[], options?: { userId?: string }): Promise<TaskRow[]>;
  /** A task as stored now (fails the test when it is missing). */
  row(id: string): Promise<TaskRow>;
  /** Sets columns of tasks, outside any engine transaction (how another engine's write looks here). */
  set(id: string, change: Partial<TaskRow>): Promise<void>;
  /** A tree's logged events, oldest first. */
  events(rootId: string, afterSeq?: number): Promise<TaskEvent[]>;
  /** The types of a tree's logged events with their task ids (`type:task`), oldest first. */
  eventLog(rootId: string, afterSeq?: number): Promise<string[]>;
}

/**
 * Builds the engine's parts on a fresh SQLite file, migrated as `createApp` does: storage, the
 * task repository, a transactor with the SQLite signal bus and a shape cache, and a tree hub.
 * Everything is closed when the test ends.
 */
export async function engineParts(t: TestContext): Promise<Parts> {
  if (!sqlite) throw new Error('no SQLite test database');
  const url = await sqlite.create(t);
  const log = createLogger({ level: 'silent', format: 'json' });
  const storage = await openStorage(url);
  const signals = await createSignalBus({ dialect: storage.dialect, url, log });
  const owner = createOwnerId();
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await signals.close();
    await storage.close();
    retireOwner(owner);
  });
  await storage.migrate();
  const repo = createTaskRepository(storage.sql);
  const shapes = createShapeCache();
  const hub = createTreeHub((rootId, after, limit) => repo.events(rootId, after, limit));
  const announced: TaskEvent[] = [];
  const waiters = new Set<(event: TaskEvent) => void>();
  const announce = (events: readonly TaskEvent[]) => {
    for (const event of events) {
      announced.push(event);
      hub.publish(event);
      for (const waiter of [...waiters]) waiter(event);
    }
  };
  const until = (match: (event: TaskEvent) => boolean) =>
    new Promise<TaskEvent>((resolve) => {
      const found = announced.find(match);
      if (found) return resolve(found);
      const waiter = (event: TaskEvent) => {
        if (!match(event)) return;
        waiters.delete(waiter);
        resolve(event);
      };
      waiters.add(waiter);
    });
  const readiedHere = new Set<() => void>();
  const readied = () => {
    for (const listener of readiedHere) listener();
  };
  const transact = createTransactor({ sql: storage.sql, owner, shapes, signals, announce, readied });
  const row = async (id: string) => {
    const found = await repo.get(id);
    if (!found) throw new Error(`task ${id} is not stored`);
    return found;
  };
  const events = (rootId: string, afterSeq = 0) => repo.events(rootId, afterSeq);
  return {
    url,
    log,
    storage,
    sql: storage.sql,
    repo,
    owner,
    shapes,
    signals,
    hub,
    cleanup: (cleanup) => void cleanups.push(cleanup),
    transact,
    onReadied: (listener) => void readiedHere.add(listener),
    announced,
    until,
    async insert(tasks, options = {}) {
      const rows = buildTaskTree(
        tasks.map((task) => ({ name: task.id, ...task })),
        { defaultUserId: options.userId ?? null },
      );
      await repo.insertTree(rows);
      return rows;
    },
    row,
    set: async (id, change) => void (await repo.update([{ id, set: change }])),
    events,
    async eventLog(rootId, afterSeq = 0) {
      return (await events(rootId, afterSeq)).map((event) => `${event.type}:${event.task_id}`);
    },
  };
}

/**
 * A second connection to the same SQLite file (another process, as far as SQLite goes): it sees
 * only what was committed, never what an open transaction of the parts' connection wrote. Through
 * the same SQLite library as apflow's (two copies in one process do not see each other's locks).
 */
export function committedView(t: TestContext, url: string) {
  const db = new Database(url.slice('sqlite:'.length));
  t.after(() => db.close());
  const read = db.prepare('SELECT status, lease_owner FROM apflow_tasks WHERE id = ?');
  return {
    /** A task's committed status and lease owner (status `missing` when not stored). */
    task: async (id: string) =>
      (read.get(id) as { status: string; lease_owner: string | null } | undefined) ?? {
        status: 'missing',
        lease_owner: null,
      },
  };
}

/**
 * An engine core on the parts (as createTaskEngine builds one), with these executors, in `server`
 * mode unless told. `transact` replaces the parts' transactor (to watch or hold its commits).
 */
export function engineCore(
  t: TestContext,
  parts: Parts,
  options: {
    executors?: readonly ExecutorDefinition[];
    settings?: Partial<EngineSettings>;
    mode?: EngineMode;
    transact?: Transact;
  } = {},
): EngineCore {
  const table = createExecutorTable();
  table.replaceSource('test', options.executors ?? []);
  const hooks = createHooks();
  const outbound = createOutbound({ rules: strictRules, self: createSelfAddresses() });
  t.after(() => outbound.close());
  return {
    owner: parts.owner,
    settings: { concurrency: 4, lease_s: 30, max_tree_size: 1000, event_retention_s: 3600, ...options.settings },
    sql: parts.sql,
    transact: options.transact ?? parts.transact,
    signals: parts.signals,
    shapes: parts.shapes,
    memory: createRunMemory(),
    scopes: createRequestScopes(),
    hooks: () => hooks,
    executors: { get: table.get, ids: () => table.list().map((entry) => entry.definition.id) },
    outbound,
    log: parts.log,
    mode: options.mode ?? 'server',
  };
}

/** The run, which must have begun (fails the test otherwise). */
export function begun(run: RunBegun | undefined): Extract<RunBegun, { begun: true }> {
  if (!run?.begun) throw new Error(`expected a run to begin, got ${JSON.stringify(run)}`);
  return run;
}

/**
 * A run of a tree in memory only, every task in it and pending (for the pure deciders): its rows
 * by id, changed freely by the test, and its shape.
 */
export function runInMemory(
  tasks: readonly TaskSpec[],
  runId = 'run-1',
): { rows: Map<string, TaskRow>; shape: TreeShape; runId: string; rootId: string } {
  const rows = buildTaskTree(tasks.map((task) => ({ name: task.id, ...task }))).map((row) => ({
    ...row,
    run_id: runId,
  }));
  return {
    rows: new Map(rows.map((row) => [row.id, row])),
    shape: buildShape(rows, runId),
    runId,
    rootId: (rows[0] as TaskRow).root_id,
  };
}
