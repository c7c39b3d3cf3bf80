import { ApflowError } from '../errors/apflow-error.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import { countReady } from '../storage/queries/claims.ts';
import { listServers } from '../storage/queries/servers.ts';
import type { UsageRecorder } from '../usage/record-usage.ts';
import type { TaskSecrets } from '../secrets/task-secrets.ts';
import type { Sql } from '../storage/sql.ts';
import type { TaskTreeJson } from '../tasks/task-record.ts';
import { cancelTasks, type CancelResult } from './cancel-tasks.ts';
import { copyTask, type CopyOptions } from './copy-task.ts';
import { createTree, type CreateTreeOptions } from './create-tree.ts';
import type { EngineCore, EngineSettings } from './engine-core.ts';
import { aliveSince, createOwnerId, retireOwner } from './engine-owner.ts';
import { followTree, type Following } from './follow-tree.ts';
import { createLeaseKeeper } from './lease-keeper.ts';
import { handBackTasks } from './recover-tasks.ts';
import { createRequestScopes } from './request-scopes.ts';
import { resumeTask, type ResumeAnswer } from './resume-task.ts';
import { createRunSpans } from '../telemetry/run-spans.ts';
import { executeRun, type ExecuteOptions, type NewTree } from './execute-run.ts';
import { createRunMemory } from './run-memory.ts';
import { awaitOutcome, type TreeOutcome } from './run-outcome.ts';
import type { SignalBus } from './signal-bus.ts';
import type { TaskRepository } from './task-repository.ts';
import { createTransactor } from './transactor.ts';
import { createTreeHub } from './tree-hub.ts';
import { createShapeCache } from './tree-shape.ts';
import { createWorkLoop } from './work-loop.ts';

export type { CancelResult } from './cancel-tasks.ts';
export type { EngineSettings } from './engine-core.ts';
export type { TreeOutcome } from './run-outcome.ts';
export type { ResumeAnswer } from './resume-task.ts';

export type { AlreadyRunning, ExecuteAnswer, ExecuteStarted } from './execute-answer.ts';
export type { ExecuteOptions, NewTree } from './execute-run.ts';

/**
 * The task engine. Trees are created and runs begun in transactions; from then on the database
 * holds the whole state of every run, and any engine on the database (every worker of every
 * server) claims ready tasks under a lease, runs them, and settles them — carrying each ending
 * through its run under the tree's root lock. Signals (LISTEN/NOTIFY, or the cluster relay) wake
 * the others; the lease keeper's beat is the safety net. kernel/README.md walks one request
 * through these files.
 */
export function createTaskEngine(options: {
  repository: TaskRepository;
  sql: Sql;
  signals: SignalBus;
  hooks: () => Hooks;
  executor: (id: string) => RegisteredExecutor | undefined;
  executorIds: () => string[];
  settings: EngineSettings;
  outbound: Outbound;
  secrets?: TaskSecrets;
  usage?: UsageRecorder;
  log: Logger;
}) {
  const { repository: repo, sql, signals, settings, log } = options;
  const owner = createOwnerId();
  const shapes = createShapeCache();
  const hub = createTreeHub((rootId, after, limit) => repo.events(rootId, after, limit));
  const listeners = new Set<(event: TaskEvent) => void>();
  const startListeners = new Set<(info: { resume: boolean }) => void | Promise<void>>();
  /** Roots of runs begun here that have not ended yet. */
  const begunHere = new Set<string>();

  const spans = createRunSpans(repo, log);
  const announce = (events: readonly TaskEvent[]) => {
    spans.ended(events);
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

  const core: EngineCore = {
    owner,
    settings,
    sql,
    transact: createTransactor({ sql, owner, shapes, signals, announce, readied: () => loop.kick() }),
    signals,
    shapes,
    memory: createRunMemory(),
    scopes: createRequestScopes(),
    hooks: options.hooks,
    executors: { get: options.executor, ids: options.executorIds },
    outbound: options.outbound,
    secrets: options.secrets,
    usage: options.usage,
    log,
    mode: 'idle',
  };
  const loop = createWorkLoop(core);
  const keeper = createLeaseKeeper(core, loop, hub);

  const offSignals = signals.onSignal((signal) => {
    if (signal === null) {
      for (const rootId of hub.followed()) hub.news(rootId, Number.MAX_SAFE_INTEGER);
      return loop.kick();
    }
    if (signal.o === owner) return;
    for (const [rootId, seq] of signal.e ?? []) hub.news(rootId, seq);
    if (signal.c) loop.running.abort(signal.c, new ApflowError('APF_CONFLICT', { message: 'Cancelled' }));
    if (signal.r) loop.kick();
  });

  const follow = (
    rootId: string,
    after: number,
    onEvent: (event: TaskEvent) => void,
    followOptions?: { replay?: boolean },
  ): Following => followTree(hub, rootId, after, onEvent, followOptions);

  return {
    /** This engine's lease owner id (kernel only: plugins get `serverId`). */
    owner,
    /**
     * Checks and stores a tree in one transaction; returns it nested, root first. A given id that
     * is taken gets a fresh UUID, or with `exactIds` is an error (APF_CONFLICT).
     */
    createTree: (input: unknown, createOptions: CreateTreeOptions = {}) =>
      createTree(core, repo, input, createOptions) as Promise<TaskTreeJson>,
    /**
     * Runs the tree of `taskId` (the whole tree for a root; for another task, it and its
     * dependencies), or creates a tree and runs it (`{ tasks }`: one transaction for both; the
     * answer's `tree` is the new tree). Ended tasks in scope run again. Resolves once the run has
     * begun (or with `started: false` when the tree is running already); `done` settles with the
     * outcome, wherever the last task ran. A run whose request carries something only this process
     * holds (`request.pin`, a one-shot command) is pinned: only this engine claims its tasks. With
     * `demo`, executors give their demo result (see `ExecutorDefinition.demoResult`).
     */
    execute: (target: string | NewTree, executeOptions: ExecuteOptions = {}) =>
      executeRun({ core, loop, repo, hooks: options.hooks, log, follow, begunHere }, target, executeOptions),
    /**
     * The outcome of a run begun earlier (by this or any server: after a restart, a retried
     * request), from its first event's seq: settles once it ends, as `execute`'s `done` does.
     */
    outcome: (run: { root_task_id: string; task_id: string; first_seq: number }): Promise<TreeOutcome> =>
      awaitOutcome(
        { repo, follow, log },
        run.task_id,
        { begun: true, rootId: run.root_task_id, runId: '', firstSeq: run.first_seq, endedAtOnce: false },
        () => undefined,
      ),
    /** Cancels each task and its unfinished descendants, wherever they run; one result object per id. */
    async cancel(ids: readonly string[], message = 'Cancelled by user'): Promise<CancelResult[]> {
      const { results, abortHere } = await core.transact((tx) => cancelTasks(tx, ids, message));
      loop.running.abort(abortHere, new ApflowError('APF_CONFLICT', { message }));
      return results;
    },
    /**
     * Answers the question task `taskId` waits on (`input_required`): the answer is checked
     * against the question's schema (APF_INVALID_PARAMS), stored, and the task runs again on any
     * engine. APF_NOT_FOUND for an unknown task, APF_CONFLICT when it is not waiting for input.
     * Access is the caller's to check.
     */
    resume: (taskId: string, input: unknown, resumeOptions: { by?: string | null } = {}): Promise<ResumeAnswer> =>
      core.transact((tx) => resumeTask(tx, taskId, input, resumeOptions.by ?? null)),
    /** Copies the tree around `taskId` (modes minimal, full, custom); see {@link CopyOptions}. */
    copy: (taskId: string, copyOptions?: CopyOptions) => copyTask(repo, taskId, copyOptions),
    /** True while a run of the tree begun here, or a task of it, runs here. */
    isRunning: (rootId: string) => begunHere.has(rootId) || loop.running.roots().includes(rootId),
    /** Roots of the trees with a task running here now. */
    runningRoots: () => loop.running.roots(),
    /**
     * The plugin state of the request that created or started the tree of `rootId`, while this
     * process holds it (never stored: gone after a restart).
     */
    requestState: (rootId: string) => core.scopes.get(rootId),
    /** Tasks ready to run that wait for a slot on any engine (the whole database). */
    queueDepth: () => countReady(sql, new Date().toISOString()),
    /** Engines alive on the database (every worker of every server) and tasks ready for a free slot. */
    async cluster(): Promise<{ engines: number; ready: number }> {
      const now = Date.now();
      const since = aliveSince(now, settings.lease_s);
      const engines = (await listServers(sql)).filter((server) => server.heartbeat_at >= since).length;
      return { engines, ready: await countReady(sql, new Date(now).toISOString()) };
    },
    /** Tasks running here now (executors in flight). */
    runningCount: () => loop.running.count(),
    /**
     * Hears every event this process committed, of every tree, as it commits: local observation
     * (metrics, logs). The `progress` hook hears the same. To follow one tree, use `follow`.
     */
    subscribe(listener: (event: TaskEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * Follows the tree of `rootId`: its logged events with a seq above `after`, then its live
     * events — from whichever server runs its tasks — each once and in order (see
     * {@link followTree}). The one way to follow a tree: streams, webhooks and A2A use it.
     */
    follow,
    /**
     * True once the engine has started as a server (it claims any ready task); false before, in a
     * one-shot command and while closing. A plugin set up after the start (a reload) asks this
     * instead of waiting for `onStart`.
     */
    serving: () => core.mode === 'server',
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
     * tasks of engines that stopped; a one-shot command claims only the runs it began.
     */
    async start(startOptions: { resume?: boolean } = {}): Promise<void> {
      const resume = startOptions.resume !== false;
      core.mode = resume ? 'server' : 'command';
      await keeper.start();
      loop.kick();
      for (const listener of [...startListeners]) {
        try {
          await listener({ resume });
        } catch (error) {
          log.error({ err: error }, 'an engine start listener failed');
        }
      }
    },
    /**
     * Stops claiming, lets running tasks end for up to `graceMs`, hands the rest back to the
     * queue (any other engine may take them at once), and writes everything out.
     */
    async close(graceMs = 0): Promise<void> {
      core.mode = 'closing';
      offSignals();
      const left = await loop.close(graceMs);
      if (left.length)
        await core
          .transact((tx) => handBackTasks(tx, left))
          .catch((error: unknown) => log.error({ err: error }, 'could not hand tasks back'));
      await keeper.close();
      retireOwner(owner);
    },
  };
}

/** The task engine. */
export type TaskEngine = ReturnType<typeof createTaskEngine>;
