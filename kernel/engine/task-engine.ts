import { ApflowError } from '../errors/apflow-error.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { RequestContext, TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import { countReady, nextReadyAt } from '../storage/queries/claims.ts';
import { listServers } from '../storage/queries/servers.ts';
import type { Sql } from '../storage/sql.ts';
import { buildTaskTree } from '../tasks/build-task-tree.ts';
import { buildTrees, type TaskTreeJson } from '../tasks/task-record.ts';
import { cancelTasks, type CancelResult } from './cancel-tasks.ts';
import { claimReady } from './claim-ready.ts';
import { copyTask, type CopyOptions } from './copy-task.ts';
import { createOwnerId, retireOwner } from './engine-owner.ts';
import { followTree, type Following } from './follow-tree.ts';
import { handBackTasks } from './recover-tasks.ts';
import { createLeaseKeeper } from './lease-keeper.ts';
import { createLocalRuns } from './local-runs.ts';
import type { RunStarted } from './start-run.ts';
import { createRequestScopes } from './request-scopes.ts';
import type { SignalBus } from './signal-bus.ts';
import type { TaskRepository } from './task-repository.ts';
import { createTreeHub } from './tree-hub.ts';
import { createTransactor } from './transactor.ts';
import { createShapeCache } from './tree-shape.ts';

export type { CancelResult } from './cancel-tasks.ts';

/** Engine settings (config `engine.*`). */
export interface EngineSettings {
  concurrency: number;
  per_user_concurrency?: number;
  cluster_concurrency?: number;
  default_timeout_s?: number;
  lease_s: number;
  max_tree_size: number;
  /** How long task events are kept for streams to resume from. */
  event_retention_s: number;
}

/** A run `execute` started. */
export interface ExecuteStarted {
  root_task_id: string;
  task_id: string;
  /**
   * The seq of this run's first event: follow the tree after `first_seq - 1` to see this run's
   * events and no earlier run's (`engine.follow(root_task_id, first_seq - 1, …)`).
   */
  first_seq: number;
  /** Settles with the outcome, wherever the last task ran. */
  done: Promise<TreeOutcome>;
}

/** How a tree run ended: the executed task's state (the root's for a whole tree). */
export interface TreeOutcome {
  root_task_id: string;
  task_id: string;
  status: string;
  progress: number;
  result?: unknown;
  error?: string;
}

/**
 * The task engine. Trees are created and runs started in transactions; from then on the
 * database holds the whole state of every run, and any engine on the database (every worker of
 * every server) claims ready tasks one by one under a lease, runs them, and settles them —
 * carrying the result through the run under the tree's root lock. Signals (LISTEN/NOTIFY, or
 * the cluster relay) wake the others; a slow poll is the safety net.
 */
export function createTaskEngine(options: {
  repository: TaskRepository;
  sql: Sql;
  signals: SignalBus;
  hooks: () => Hooks;
  executor: (id: string) => RegisteredExecutor | undefined;
  executorIds: () => string[];
  settings: EngineSettings;
  /** The outbound policy executors reach the network through. */
  outbound: Outbound;
  log: Logger;
}) {
  const { repository: repo, sql, signals, settings, log } = options;
  const owner = createOwnerId();
  const leaseMs = settings.lease_s * 1000;
  const leaseUntil = () => new Date(Date.now() + leaseMs).toISOString();
  const shapes = createShapeCache();
  const hub = createTreeHub((rootId, after, limit) => repo.events(rootId, after, limit));
  const listeners = new Set<(event: TaskEvent) => void>();
  const startListeners = new Set<(info: { resume: boolean }) => void | Promise<void>>();
  const scopes = createRequestScopes();
  /** Roots of runs started here that have not ended yet. */
  const startedHere = new Set<string>();
  let mode: 'idle' | 'server' | 'command' | 'closing' = 'idle';

  const announce = (events: readonly TaskEvent[]) => {
    for (const event of events) {
      try {
        options.hooks().progress.call(event);
      } catch (error) {
        log.error({ err: error, event: event.type }, 'a progress tap threw; it must not');
      }
      for (const listener of listeners) listener(event);
      hub.publish(event);
    }
  };

  const transact = createTransactor({ sql, owner, shapes, signals, announce });

  const runs = createLocalRuns({
    settings,
    owner,
    hooks: options.hooks,
    executor: options.executor,
    executorIds: options.executorIds,
    requestState: (rootId) => scopes.get(rootId),
    transact,
    claim: (tx, slots) =>
      claimReady(tx, {
        slots,
        perUser: settings.per_user_concurrency,
        cluster: settings.cluster_concurrency,
        pinnedOnly: mode === 'command',
        leaseUntil: leaseUntil(),
      }),
    mayClaim: () => mode === 'server' || mode === 'command',
    shapes,
    limited: settings.per_user_concurrency !== undefined || settings.cluster_concurrency !== undefined,
    leaseUntil,
    outbound: options.outbound,
    log,
  });

  const keeper = createLeaseKeeper({
    sql,
    owner,
    leaseMs,
    eventRetentionMs: settings.event_retention_s * 1000,
    runningHere: () => runs.ids(),
    lost: (ids) => runs.abort(ids, new Error('this server no longer holds the task (cancelled or taken over)')),
    transact,
    sweeping: () => mode === 'server',
    afterTick: async () => {
      const next = await nextReadyAt(sql, new Date().toISOString());
      if (next) runs.wakeAt(Date.parse(next));
      runs.kick();
      // Without LISTEN (SQLite) another process (a CLI cancel, a server outside the cluster) may
      // write events nobody signals: followers look at the log. With it, every writer signals and
      // a reconnect after lost signals says so, so this is not needed on every beat.
      if (signals.kind !== 'listen') for (const rootId of hub.followed()) hub.news(rootId, Number.MAX_SAFE_INTEGER);
    },
    log,
  });

  const offSignals = signals.onSignal((signal) => {
    if (signal === null) {
      for (const rootId of hub.followed()) hub.news(rootId, Number.MAX_SAFE_INTEGER);
      return runs.kick();
    }
    if (signal.o === owner) return;
    for (const [rootId, seq] of signal.e ?? []) hub.news(rootId, seq);
    if (signal.c) runs.abort(signal.c, new ApflowError('APF_CONFLICT', { message: 'Cancelled' }));
    if (signal.r) runs.kick();
  });

  const follow = (
    rootId: string,
    after: number,
    onEvent: (event: TaskEvent) => void,
    followOptions?: { replay?: boolean },
  ): Following => followTree({ subscribe: hub.subscribe, events: hub.events }, rootId, after, onEvent, followOptions);

  /**
   * Resolves with the outcome once the run `run` of `rootId`, just committed, ends. Called in the
   * same tick as the commit: nothing of the tree can have been announced since, so it listens
   * from the start's last event on without reading the log again.
   */
  const outcomeOf = (rootId: string, taskId: string, run: RunStarted & { started: true }): Promise<TreeOutcome> =>
    new Promise((resolve) => {
      const ended = (event: { status: string; progress: number }) => {
        startedHere.delete(rootId);
        scopes.delete(rootId);
        void repo.get(taskId).then((target) => {
          const outcome: TreeOutcome = {
            root_task_id: rootId,
            task_id: taskId,
            status: target?.status ?? event.status,
            progress: target?.progress ?? event.progress,
          };
          if (target && target.result !== null) outcome.result = target.result;
          if (target?.error) outcome.error = target.error;
          resolve(outcome);
        });
      };
      if (run.finished) return ended({ status: 'failed', progress: 0 });
      const live = run.lastSeq !== undefined;
      const following = follow(
        rootId,
        run.lastSeq ?? run.firstSeq - 1,
        (event) => {
          if (event.type !== 'final') return;
          following.stop();
          ended(event);
        },
        { replay: !live },
      );
      following.replayed.catch((error: unknown) =>
        log.error({ err: error, root_task_id: rootId }, 'cannot follow a run to its end'),
      );
    });

  return {
    /** This engine's lease owner id. */
    owner,
    /** Checks and stores a tree in one transaction; returns it nested, root first. */
    async createTree(
      input: unknown,
      createOptions: { userId?: string | null; request?: RequestContext } = {},
    ): Promise<TaskTreeJson> {
      const given = (Array.isArray(input) ? input : [input]).flatMap((task) =>
        task && typeof task === 'object' && typeof (task as { id?: unknown }).id === 'string'
          ? [(task as { id: string }).id]
          : [],
      );
      const build = async () => {
        const taken = given.length ? await repo.existingIds(given) : new Set<string>();
        return {
          taken,
          rows: buildTaskTree(input, { taken, defaultUserId: createOptions.userId, maxTasks: settings.max_tree_size }),
        };
      };
      let { taken, rows } = await build();
      try {
        await repo.insertTree(rows);
      } catch (error) {
        // A tree created at the same time took one of the given ids: the rule (a taken id gets
        // a fresh UUID) holds then too, once the ids are checked again.
        const again = await build();
        if (![...again.taken].some((id) => !taken.has(id))) throw error;
        ({ taken, rows } = again);
        await repo.insertTree(rows);
      }
      const tree = buildTrees(rows)[0] as TaskTreeJson;
      if (createOptions.request) scopes.set(tree.id, createOptions.request.state);
      return tree;
    },
    /**
     * Runs the tree of `taskId` (the whole tree for a root; for another task, it and its
     * dependencies). Finished tasks in scope run again. Resolves once the run has started;
     * `done` settles with the outcome (wherever the last task ran). A run whose request carries
     * something only this process holds (`request.pin`, a one-shot command) is
     * pinned: only this engine claims its tasks. With `demo`, executors give their demo result
     * (see `ExecutorDefinition.demoResult`); the flag is stored with the run's tasks.
     */
    async execute(
      taskId: string,
      executeOptions: { request?: RequestContext; demo?: boolean } = {},
    ): Promise<ExecuteStarted> {
      if (mode === 'closing') throw new ApflowError('APF_UNAVAILABLE', { message: 'The server is shutting down' });
      const pinned = executeOptions.request?.pin !== undefined || mode !== 'server';
      let done: Promise<TreeOutcome> | undefined;
      const run = await runs.startRun(
        { taskId, pinnedTo: pinned ? owner : null, demo: executeOptions.demo === true },
        (started) => {
          if (!started.started) return;
          startedHere.add(started.rootId);
          if (executeOptions.request) scopes.set(started.rootId, executeOptions.request.state);
          done = outcomeOf(started.rootId, taskId, started);
        },
      );
      if (!run.started && run.missing) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
      if (!run.started || !done)
        throw new ApflowError('APF_CONFLICT', {
          message: `Task ${run.rootId} is already running`,
          data: { root_task_id: run.rootId },
        });
      return { root_task_id: run.rootId, task_id: taskId, first_seq: run.firstSeq, done };
    },
    /** Cancels each task and its unfinished descendants, wherever they run; one result object per id. */
    async cancel(ids: readonly string[], message = 'Cancelled by user'): Promise<CancelResult[]> {
      const { results, abortHere } = await transact((tx) => cancelTasks(tx, ids, message));
      runs.abort(abortHere, new ApflowError('APF_CONFLICT', { message }));
      return results;
    },
    /** Copies the tree around `taskId` (modes minimal, full, custom); see {@link CopyOptions}. */
    copy: (taskId: string, copyOptions?: CopyOptions) => copyTask(repo, taskId, copyOptions),
    /** True while a run of the tree started here, or a task of it runs here. */
    isRunning: (rootId: string) => startedHere.has(rootId) || runs.roots().includes(rootId),
    /** Roots of the trees with a task running here now. */
    runningRoots: () => runs.roots(),
    /**
     * The plugin state of the request that created or started the tree of `rootId`, while this
     * process holds it (never stored: gone after a restart).
     */
    requestState: (rootId: string) => scopes.get(rootId),
    /** Tasks ready to run that wait for a slot on any engine (the whole database). */
    queueDepth: () => countReady(sql, new Date().toISOString()),
    /** Engines alive on the database (every worker of every server) and tasks ready for a free slot. */
    async cluster(): Promise<{ engines: number; ready: number }> {
      const now = Date.now();
      const fresh = new Date(now - 2 * leaseMs).toISOString();
      const engines = (await listServers(sql)).filter((server) => server.heartbeat_at >= fresh).length;
      return { engines, ready: await countReady(sql, new Date(now).toISOString()) };
    },
    /** Tasks running here now (executors in flight). */
    runningCount: () => runs.count(),
    /** Hears every event this process persisted (the `progress` hook hears them too). */
    subscribe(listener: (event: TaskEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * Follows the tree of `rootId`: its logged events with a seq above `after`, then its live
     * events — from whichever server runs its tasks — each once and in order (see
     * {@link followTree}). Streams resume with this.
     */
    follow,
    /**
     * Calls `listener` once when the engine starts (after the plugins are set up), with whether
     * it is a server (true) or a one-shot command. The start waits for it; a throw is logged.
     */
    onStart(listener: (info: { resume: boolean }) => void | Promise<void>): () => void {
      startListeners.add(listener);
      return () => void startListeners.delete(listener);
    },
    /**
     * Starts claiming. A server (`resume`, the default) claims any ready task and takes back the
     * tasks of engines that stopped; a one-shot command claims only the runs it started.
     */
    async start(startOptions: { resume?: boolean } = {}): Promise<void> {
      const resume = startOptions.resume !== false;
      mode = resume ? 'server' : 'command';
      await keeper.start();
      runs.kick();
      for (const listener of [...startListeners]) {
        try {
          await listener({ resume });
        } catch (error) {
          log.error({ err: error }, 'an engine start listener failed');
        }
      }
    },
    /**
     * Stops claiming, lets running tasks finish for up to `graceMs`, hands the rest back to the
     * queue (any other engine may take them at once), and writes everything out.
     */
    async close(graceMs = 0): Promise<void> {
      mode = 'closing';
      offSignals();
      await runs.close(graceMs, (rows) => transact((tx) => handBackTasks(tx, rows)));
      await keeper.close();
      retireOwner(owner);
    },
  };
}

/** The task engine. */
export type TaskEngine = ReturnType<typeof createTaskEngine>;
