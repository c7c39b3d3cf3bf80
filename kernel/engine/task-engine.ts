import { ApflowError } from '../errors/apflow-error.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { RequestContext, TaskEvent, TaskEventType } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import { buildTaskTree } from '../tasks/build-task-tree.ts';
import { mergeDependencyResults } from '../tasks/merge-dependency-results.ts';
import { buildTrees, TERMINAL_STATUSES, type TaskRow, type TaskTreeJson } from '../tasks/task-record.ts';
import { createOwnerId, isOwnerGone, retireOwner } from './engine-owner.ts';
import { createReadyQueue } from './ready-queue.ts';
import { runTask, type RunOutcome } from './run-task.ts';
import { makeEvent } from './task-events.ts';
import type { TaskRepository } from './task-repository.ts';
import { createTreeRun, isReady, isTerminal, type RunNode, type TreeRun } from './tree-run.ts';
import { createWriteJournal } from './write-journal.ts';
import { executionScope, recoverOrphan, resetForRerun, retryDelayMs } from './run-rules.ts';
import { copyTask, type CopyOptions } from './copy-task.ts';
import { followTree, type Following } from './follow-tree.ts';
import { createRequestScopes } from './request-scopes.ts';

/** How often old events are pruned. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** Tasks with unwritten changes at which the engine stops starting more until a commit. */
const JOURNAL_BACKLOG = 1000;

/** Engine settings (config `engine.*`). */
export interface EngineSettings {
  concurrency: number;
  per_user_concurrency?: number;
  default_timeout_s?: number;
  lease_s: number;
  max_tree_size: number;
  /** How long task events are kept for streams to resume from. */
  event_retention_s: number;
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

/** Per-id answer of {@link TaskEngine.cancel}, in the original's shape. */
export type CancelResult = Record<string, unknown> & { task_id: string; status: string };

interface TreeState {
  rootId: string;
  taskId: string;
  run: TreeRun;
  seq: number;
  done: Promise<TreeOutcome>;
  resolve: (outcome: TreeOutcome) => void;
}

type Item = { state: TreeState; node: RunNode };

/**
 * The task engine: creates trees, runs them (dependencies gate, parents after children,
 * priority order, global and per-user limits), persists every transition in batched
 * transactions before announcing it, and recovers trees whose owner died.
 */
export function createTaskEngine(options: {
  repository: TaskRepository;
  hooks: () => Hooks;
  executor: (id: string) => RegisteredExecutor | undefined;
  executorIds: () => string[];
  settings: EngineSettings;
  log: Logger;
}) {
  const { repository: repo, settings, log } = options;
  const owner = createOwnerId();
  const leaseMs = settings.lease_s * 1000;
  const leaseUntil = () => new Date(Date.now() + leaseMs).toISOString();
  const journal = createWriteJournal({ commit: (batch) => repo.commit(batch), log });
  const trees = new Map<string, TreeState>();
  const queue = createReadyQueue<Item>();
  const userRunning = new Map<string | null, number>();
  const listeners = new Set<(event: TaskEvent) => void>();
  const scopes = createRequestScopes();
  /** Roots of the trees running in demo mode (in memory only: a resumed tree runs for real). */
  const demoRoots = new Set<string>();
  const startListeners = new Set<(info: { resume: boolean }) => void | Promise<void>>();
  const treeListeners = new Map<string, Set<(event: TaskEvent) => void>>();
  let running = 0;
  let closing = false;
  let heartbeat: NodeJS.Timeout | undefined;

  const announce = (event: TaskEvent) => {
    try {
      options.hooks().progress.call(event);
    } catch (error) {
      log.error({ err: error, event: event.type }, 'a progress tap threw; it must not');
    }
    for (const listener of listeners) listener(event);
    const ofTree = treeListeners.get(event.root_task_id);
    if (ofTree) for (const listener of ofTree) listener(event);
  };
  const subscribeTree = (rootId: string, listener: (event: TaskEvent) => void) => {
    let set = treeListeners.get(rootId);
    if (!set) treeListeners.set(rootId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && treeListeners.get(rootId) === set) treeListeners.delete(rootId);
    };
  };
  const emit = (state: TreeState, type: TaskEventType, row: TaskRow, message?: string) => {
    const event = makeEvent(type, row, ++state.seq, message === undefined ? {} : { message });
    journal.change({ id: state.rootId, set: { event_seq: state.seq } });
    journal.event(event, () => {
      // The commit may have renumbered it after events another process wrote for this tree.
      state.seq = Math.max(state.seq, event.seq);
      announce(event);
    });
  };
  const set = (node: RunNode, changes: Partial<TaskRow>) => {
    const stamped = { ...changes, updated_at: new Date().toISOString() };
    Object.assign(node.row, stamped);
    journal.change({ id: node.row.id, set: stamped });
  };

  const enqueue = (state: TreeState, node: RunNode) => {
    const wait = node.row.next_attempt_at ? Date.parse(node.row.next_attempt_at) - Date.now() : 0;
    if (wait > 0) return scheduleRetry(state, node, wait);
    node.busy = true;
    queue.add({ item: { state, node }, priority: node.row.priority, user: node.row.user_id });
  };
  const scheduleRetry = (state: TreeState, node: RunNode, delayMs: number) => {
    node.retryTimer = setTimeout(() => {
      node.retryTimer = undefined;
      if (!closing && trees.get(state.rootId) === state && isReady(node)) {
        enqueue(state, node);
        pump();
      }
    }, delayMs);
  };
  const mayRun = (user: string | null) =>
    settings.per_user_concurrency === undefined || (userRunning.get(user) ?? 0) < settings.per_user_concurrency;
  const release = (user: string | null) => {
    running--;
    userRunning.set(user, (userRunning.get(user) ?? 1) - 1);
    queue.release(user);
  };

  let waitingForJournal = false;
  const pump = () => {
    // Backpressure: quick tasks can finish faster than they are written; let the writes catch up.
    if (journal.backlog() >= JOURNAL_BACKLOG) {
      if (!waitingForJournal) {
        waitingForJournal = true;
        journal.afterCommit(() => {
          waitingForJournal = false;
          pump();
        });
      }
      return;
    }
    while (!closing && running < settings.concurrency) {
      const item = queue.pop(mayRun);
      if (!item) return;
      const { state, node } = item;
      if (node.row.status !== 'pending' || trees.get(state.rootId) !== state) {
        node.busy = false;
        continue;
      }
      running++;
      userRunning.set(node.row.user_id, (userRunning.get(node.row.user_id) ?? 0) + 1);
      start(state, node);
    }
  };

  // This engine owns the tree, so a task starts at once; the claim commits with the next batch
  // and only an external cancel seen in that commit can refuse it (the run is then aborted).
  const start = (state: TreeState, node: RunNode) => {
    const now = new Date().toISOString();
    const claim: Partial<TaskRow> = {
      status: 'in_progress',
      inputs: mergeDependencyResults(node.row, (id) => state.run.nodes.get(id)?.row),
      started_at: now,
      updated_at: now,
      attempts: node.row.attempts + 1,
      next_attempt_at: null,
      lease_owner: owner,
      lease_expires_at: leaseUntil(),
    };
    Object.assign(node.row, claim);
    journal.claim({ id: node.row.id, set: claim }, (error) => refusedClaim(state, node, error));
    emit(state, 'task_start', node.row);
    const abort = new AbortController();
    node.abort = abort;
    const timeout = node.row.params?.timeout_s;
    // Each run starts on its own turn of the event loop, so a burst of quick tasks still lets
    // the journal commit and HTTP requests be served in between.
    setImmediate(() => void runTask({
      task: node.row,
      signal: abort.signal,
      timeoutS: typeof timeout === 'number' && timeout > 0 ? timeout : settings.default_timeout_s,
      hooks: options.hooks(),
      executor: options.executor,
      executorIds: options.executorIds,
      requestState: scopes.get(state.rootId),
      demo: demoRoots.has(state.rootId),
      progress: (progress, message) => reportProgress(state, node, progress, message),
      log,
    }).then((outcome) => finishRun(state, node, outcome)));
  };

  const reportProgress = (state: TreeState, node: RunNode, progress: number, message?: string) => {
    if (node.row.status !== 'in_progress' || !Number.isFinite(progress)) return;
    set(node, { progress: Math.min(1, Math.max(0, progress)) });
    emit(state, 'progress', node.row, message);
  };

  const finishRun = (state: TreeState, node: RunNode, outcome: RunOutcome) => {
    node.abort = undefined;
    release(node.row.user_id);
    if (outcome.status === 'aborted' || isTerminal(node) || node.row.status !== 'in_progress') {
      node.busy = false;
      return pump();
    }
    const now = new Date().toISOString();
    if (outcome.status === 'completed') {
      set(node, { status: 'completed', progress: 1, result: outcome.result, error: null, completed_at: now, lease_owner: null, lease_expires_at: null });
      emit(state, 'task_completed', node.row);
    } else {
      const retries = Number(node.row.params?.retries ?? 0);
      if (outcome.retryable && node.row.attempts <= retries) {
        const delay = retryDelayMs(node.row);
        set(node, { status: 'pending', error: outcome.error, next_attempt_at: new Date(Date.now() + delay).toISOString(), lease_owner: null, lease_expires_at: null });
        emit(state, 'progress', node.row, `Retrying in ${delay / 1000}s (attempt ${node.row.attempts + 1} of ${retries + 1}): ${outcome.error}`);
        node.busy = false;
        scheduleRetry(state, node, delay);
        return pump();
      }
      set(node, { status: 'failed', error: outcome.error, completed_at: now, lease_owner: null, lease_expires_at: null });
      emit(state, 'task_failed', node.row);
    }
    settle(state, node);
    pump();
  };

  const settle = (state: TreeState, node: RunNode) => {
    node.busy = false;
    const { ready, cascaded } = state.run.settle(node);
    for (const { node: doomed, because } of cascaded) {
      if (doomed.row.status !== 'pending') continue;
      const why = because.row.status === 'cancelled' ? 'was cancelled' : because.row.status === 'failed' ? 'failed' : 'did not complete';
      clearTimeout(doomed.retryTimer);
      doomed.retryTimer = undefined;
      set(doomed, { status: 'failed', error: `dependency ${because.row.id} ${why}`, completed_at: new Date().toISOString() });
      emit(state, 'task_failed', doomed.row);
      settle(state, doomed);
    }
    for (const next of ready) enqueue(state, next);
    if (state.run.remaining === 0 && trees.get(state.rootId) === state) finishTree(state);
  };

  const finishTree = (state: TreeState) => {
    trees.delete(state.rootId);
    scopes.delete(state.rootId);
    demoRoots.delete(state.rootId);
    const root = state.run.nodes.get(state.rootId) as RunNode;
    const target = (state.run.nodes.get(state.taskId) ?? root).row;
    emit(state, 'final', root.row);
    journal.change({ id: state.rootId, set: { run_state: null, lease_owner: null, lease_expires_at: null } });
    // Read at commit time: a cancel from elsewhere seen in that commit still changes the outcome.
    journal.afterCommit(() => {
      const outcome: TreeOutcome = { root_task_id: state.rootId, task_id: target.id, status: target.status, progress: target.progress };
      if (target.result !== null) outcome.result = target.result;
      if (target.error) outcome.error = target.error;
      state.resolve(outcome);
    });
  };

  /**
   * Someone else cancelled the task before our claim committed. The database kept their state (our
   * writes to the task were dropped), so this process follows it: even a run that already
   * finished here counts as cancelled.
   */
  const refusedClaim = (state: TreeState, node: RunNode, error: string | null) => {
    const settled = isTerminal(node);
    node.abort?.abort(new Error('cancelled elsewhere'));
    Object.assign(node.row, { status: 'cancelled', error, lease_owner: null, lease_expires_at: null });
    emit(state, 'task_cancelled', node.row);
    if (!settled) settle(state, node);
  };

  /** Loads a tree this engine now owns and starts running it. */
  const begin = async (rootId: string, taskId: string, rerun: boolean): Promise<TreeState> => {
    const rows = await repo.tree(rootId);
    const scope = taskId === rootId ? null : executionScope(rows, taskId);
    const root = rows.find((row) => row.id === rootId) as TaskRow;
    const changed: TaskRow[] = [];
    for (const row of rows) {
      if (scope && !scope.has(row.id)) continue;
      const change = row.status === 'in_progress' ? recoverOrphan(row) : rerun ? resetForRerun(row) : null;
      if (!change) continue;
      Object.assign(row, change);
      journal.change({ id: row.id, set: change });
      changed.push(row);
    }
    let resolve!: (outcome: TreeOutcome) => void;
    const done = new Promise<TreeOutcome>((r) => (resolve = r));
    const state: TreeState = { rootId, taskId, run: createTreeRun(rows, scope), seq: root.event_seq, done, resolve };
    trees.set(rootId, state);
    emit(state, 'progress', root, 'Task tree execution started');
    for (const row of changed) if (row.status === 'failed') emit(state, 'task_failed', row);
    const { ready, cascaded } = state.run.initial();
    for (const { node, because } of cascaded) {
      if (node.row.status !== 'pending') continue;
      set(node, { status: 'failed', error: `dependency ${because.row.id} ${because.row.status === 'cancelled' ? 'was cancelled' : 'failed'}`, completed_at: new Date().toISOString() });
      emit(state, 'task_failed', node.row);
      settle(state, node);
    }
    for (const node of ready) if (node.row.status === 'pending' && !node.busy) enqueue(state, node);
    if (state.run.remaining === 0 && trees.get(rootId) === state) finishTree(state);
    pump();
    return state;
  };

  const cancelNode = (state: TreeState, node: RunNode, message: string) => {
    clearTimeout(node.retryTimer);
    node.retryTimer = undefined;
    node.abort?.abort(new ApflowError('APF_CONFLICT', { message }));
    set(node, { status: 'cancelled', error: message, completed_at: new Date().toISOString(), lease_owner: null, lease_expires_at: null });
    emit(state, 'task_cancelled', node.row);
    settle(state, node);
  };

  let lastPrune = 0;
  const heartbeatTick = async (resume: boolean) => {
    try {
      await repo.renewLeases(owner, leaseUntil());
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await repo.pruneEvents(new Date(Date.now() - settings.event_retention_s * 1000).toISOString());
      }
      await checkExternalCancels();
      if (resume) await adoptOrphanTrees();
    } catch (error) {
      log.error({ err: error }, 'engine heartbeat failed');
    }
  };
  /** Tasks cancelled in the database by another process (`apflow tasks cancel`) stop here too. */
  const checkExternalCancels = async () => {
    if (trees.size === 0) return;
    const cancelled = await repo.cancelledIn([...trees.keys()]);
    for (const [id, error] of cancelled) {
      const state = [...trees.values()].find((tree) => tree.run.nodes.has(id));
      const node = state?.run.nodes.get(id);
      if (state && node && !isTerminal(node)) cancelNode(state, node, error ?? 'Cancelled by user');
    }
  };
  const adoptOrphanTrees = async () => {
    if (closing) return;
    const now = Date.now();
    for (const lease of await repo.runningTrees()) {
      if (trees.has(lease.id) || lease.lease_owner === owner) continue;
      const expired = !lease.lease_expires_at || Date.parse(lease.lease_expires_at) < now;
      const gone = isOwnerGone(lease.lease_owner);
      if (!expired && !gone) continue;
      if (!(await repo.adoptTree(lease.id, owner, leaseUntil(), new Date().toISOString(), gone))) continue;
      log.warn({ root_task_id: lease.id, previous_owner: lease.lease_owner }, 'resuming a tree whose server stopped');
      await begin(lease.id, lease.id, false);
    }
  };

  return {
    /** This engine's lease owner id. */
    owner,
    /** Checks and stores a tree in one transaction; returns it nested, root first. */
    async createTree(input: unknown, createOptions: { userId?: string | null; request?: RequestContext } = {}): Promise<TaskTreeJson> {
      const given = (Array.isArray(input) ? input : [input]).flatMap((task) =>
        task && typeof task === 'object' && typeof (task as { id?: unknown }).id === 'string' ? [(task as { id: string }).id] : [],
      );
      const taken = given.length ? await repo.existingIds(given) : new Set<string>();
      const rows = buildTaskTree(input, { taken, defaultUserId: createOptions.userId, maxTasks: settings.max_tree_size });
      await repo.insertTree(rows);
      const tree = buildTrees(rows)[0] as TaskTreeJson;
      if (createOptions.request) scopes.set(tree.id, createOptions.request.state);
      return tree;
    },
    /**
     * Runs the tree of `taskId` (the whole tree for a root; for another task, it and its
     * dependencies). Finished tasks in scope run again. Resolves once the run has started;
     * `done` settles with the outcome. With `demo`, executors return their demo result instead
     * of running (see `ExecutorDefinition.demoResult`); the flag lives in memory for this run.
     */
    async execute(taskId: string, executeOptions: { request?: RequestContext; demo?: boolean } = {}): Promise<{ root_task_id: string; task_id: string; done: Promise<TreeOutcome> }> {
      if (closing) throw new ApflowError('APF_UNAVAILABLE', { message: 'The server is shutting down' });
      const row = await repo.get(taskId);
      if (!row) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
      const busy = () => new ApflowError('APF_CONFLICT', { message: `Task ${row.root_id} is already running`, data: { root_task_id: row.root_id } });
      if (trees.has(row.root_id)) throw busy();
      if (!(await repo.adoptTree(row.root_id, owner, leaseUntil(), new Date().toISOString(), false))) throw busy();
      if (trees.has(row.root_id)) throw busy();
      if (executeOptions.request) scopes.set(row.root_id, executeOptions.request.state);
      if (executeOptions.demo) demoRoots.add(row.root_id);
      else demoRoots.delete(row.root_id);
      const state = await begin(row.root_id, taskId, true);
      return { root_task_id: row.root_id, task_id: taskId, done: state.done };
    },
    /** Cancels each task and its unfinished descendants; one result object per id. */
    async cancel(ids: readonly string[], message = 'Cancelled by user'): Promise<CancelResult[]> {
      const results: CancelResult[] = [];
      for (const id of ids) {
        const state = [...trees.values()].find((tree) => tree.run.nodes.has(id));
        const node = state?.run.nodes.get(id);
        const row = node?.row ?? (await repo.get(id));
        if (!row) {
          results.push({ task_id: id, status: 'failed', message: `Task ${id} not found`, error: 'Task not found' });
          continue;
        }
        if (TERMINAL_STATUSES.has(row.status)) {
          results.push({ task_id: id, status: 'failed', message: `Task ${id} is already ${row.status}, cannot cancel`, current_status: row.status });
          continue;
        }
        if (state && node) {
          for (const each of state.run.subtree(node)) if (!isTerminal(each)) cancelNode(state, each, message);
        } else {
          await cancelStored(row, message);
        }
        results.push({ task_id: id, status: 'cancelled', message });
      }
      await journal.drain();
      return results;
    },
    /** Copies the tree around `taskId` (modes minimal, full, custom); see {@link CopyOptions}. */
    copy: (taskId: string, copyOptions?: CopyOptions) => copyTask(repo, taskId, copyOptions),
    /** True while this engine runs the tree of `rootId`. */
    isRunning: (rootId: string) => trees.has(rootId),
    /** Roots of the trees this engine runs now. */
    runningRoots: () => [...trees.keys()],
    /**
     * The plugin state of the request that created or started the tree of `rootId`, while this
     * process holds it (never stored: gone after a restart).
     */
    requestState: (rootId: string) => scopes.get(rootId),
    /** Tasks ready to run that wait for a slot (global or per-user concurrency) on this engine. */
    queueDepth: () => queue.size,
    /** Tasks running now (executors in flight). */
    runningCount: () => running,
    /** Hears every event after it was persisted (the `progress` hook hears them too). */
    subscribe(listener: (event: TaskEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * Follows the tree of `rootId`: its logged events with a seq above `after`, then its live
     * events, each once and in order (see {@link followTree}). Streams resume with this.
     */
    follow: (rootId: string, after: number, onEvent: (event: TaskEvent) => void): Following =>
      followTree({ subscribe: subscribeTree, events: (id, seq, limit) => repo.events(id, seq, limit) }, rootId, after, onEvent),
    /**
     * Calls `listener` once when the engine starts (after the plugins are set up), with whether
     * it resumes other servers' trees: true for a server, false for a one-shot command. The start
     * waits for it; a throw is logged. Returns the unsubscribe function.
     */
    onStart(listener: (info: { resume: boolean }) => void | Promise<void>): () => void {
      startListeners.add(listener);
      return () => void startListeners.delete(listener);
    },
    /** Resumes trees left running by a server that stopped, then keeps leases alive. */
    async start(startOptions: { resume?: boolean } = {}): Promise<void> {
      const resume = startOptions.resume !== false;
      if (resume) await adoptOrphanTrees();
      heartbeat = setInterval(() => void heartbeatTick(resume), Math.max(200, leaseMs / 3));
      heartbeat.unref();
      for (const listener of [...startListeners]) {
        try {
          await listener({ resume });
        } catch (error) {
          log.error({ err: error }, 'an engine start listener failed');
        }
      }
    },
    /**
     * Stops taking work, lets running tasks finish for up to `graceMs`, hands the rest back
     * (pending again, run by the next server to start), and writes everything out.
     */
    async close(graceMs = 0): Promise<void> {
      closing = true;
      clearInterval(heartbeat);
      const deadline = Date.now() + graceMs;
      while (running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const state of trees.values()) {
        for (const node of state.run.nodes.values()) {
          clearTimeout(node.retryTimer);
          if (!node.abort) continue;
          node.abort.abort(new Error('shutdown'));
          set(node, { status: 'pending', attempts: Math.max(0, node.row.attempts - 1), lease_owner: null, lease_expires_at: null, started_at: null });
        }
        journal.change({ id: state.rootId, set: { lease_owner: null, lease_expires_at: null } });
      }
      await journal.drain();
      trees.clear();
      retireOwner(owner);
    },
  };

  async function cancelStored(row: TaskRow, message: string): Promise<void> {
    const rows = await repo.tree(row.root_id);
    const run = createTreeRun(rows, null);
    const root = rows.find((candidate) => candidate.id === row.root_id) as TaskRow;
    const state: TreeState = { rootId: row.root_id, taskId: row.id, run, seq: root.event_seq, done: Promise.resolve({} as TreeOutcome), resolve: () => undefined };
    for (const node of run.subtree(run.nodes.get(row.id) as RunNode)) {
      if (isTerminal(node)) continue;
      set(node, { status: 'cancelled', error: message, completed_at: new Date().toISOString() });
      emit(state, 'task_cancelled', node.row);
    }
  }
}

/** The task engine. */
export type TaskEngine = ReturnType<typeof createTaskEngine>;
