import { selectTasks } from '../storage/queries/select-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TaskSteps } from '../tasks/task-wait.ts';
import type { EngineCore } from './engine-core.ts';
import { RunEnding } from './run-ending.ts';
import type { RunEngine } from './run-scope.ts';
import { runTask, type RunOutcome } from './run-task.ts';

interface Running {
  row: TaskRow;
  /** Its abort; `lost` once cancelled, taken over or handed back: how it ends is not written. */
  ending: RunEnding;
}

/**
 * The executors running in this engine now, each on a task whose claim is committed. Each run
 * ends in `ended` (unless it was lost); progress goes to `progress`.
 */
export function createRunningTasks(
  core: EngineCore,
  on: {
    progress: (row: TaskRow, progress: number, message?: string) => void;
    /** Asks to store the task's durable memory; `saved` is told whether it was written. */
    steps: (row: TaskRow, steps: TaskSteps, saved: (held: boolean) => void) => void;
    ended: (row: TaskRow, outcome: Exclude<RunOutcome, { status: 'aborted' }>) => void;
    /** A run ended without a write (aborted or lost): a slot is free. */
    freed: () => void;
  },
) {
  const running = new Map<string, Running>();
  /**
   * Tasks aborted before their launch: a cancel (or takeover) can commit between the commit of
   * the turn that claimed them and that turn's launches here. Emptied before each turn.
   */
  const abortedEarly = new Set<string>();
  let idle: (() => void)[] = [];

  const finish = (row: TaskRow, outcome: RunOutcome) => {
    const entry = running.get(row.id);
    running.delete(row.id);
    if (running.size === 0) for (const wake of idle.splice(0)) wake();
    if (!entry || entry.ending.lost || outcome.status === 'aborted') on.freed();
    else on.ended(row, outcome);
  };

  const abortOne = (id: string, reason: unknown) => {
    const entry = running.get(id);
    if (!entry) return void abortedEarly.add(id);
    entry.ending.lose(reason);
  };

  /** This run of the task, while it runs here and is not lost. */
  const runsHere = (row: TaskRow) => {
    const entry = running.get(row.id);
    return entry?.row === row && !entry.ending.lost;
  };

  // What every run needs of the engine: one object, its functions made once.
  const engine: RunEngine = {
    hooks: () => core.hooks(),
    executor: core.executors.get,
    executorIds: core.executors.ids,
    requestState: (rootId) => core.scopes.get(rootId),
    outbound: core.outbound,
    secrets: core.secrets,
    usage: core.usage,
    server: core.owner,
    log: core.log,
    progress(row, progress, message) {
      // Only while it runs here: an executor still reporting after its end (a timeout let it go
      // on) or after it was lost must not write over how the task ended.
      if (!runsHere(row) || !Number.isFinite(progress)) return;
      row.progress = Math.min(1, Math.max(0, progress));
      on.progress(row, row.progress, message);
    },
    save: (row, steps) =>
      new Promise<void>((resolve, reject) => {
        // Only this run of the task, while it runs here: an earlier run's late step must not
        // write over the memory of the run that took the task after it.
        if (!runsHere(row)) return reject(new Error('the task is no longer run here'));
        on.steps(row, steps, (held) =>
          held ? resolve() : reject(new Error('the task is no longer run here (cancelled or taken over)')),
        );
      }),
    read: (ids) => selectTasks(core.sql, ids),
    get maxTreeSize() {
      return core.settings.max_tree_size;
    },
  };

  const start = async (entry: Running) => {
    const { row } = entry;
    const timeout = row.params?.timeout_s;
    const timeoutS = typeof timeout === 'number' && timeout > 0 ? timeout : core.settings.default_timeout_s;
    finish(row, await runTask(engine, row, entry.ending, timeoutS));
  };

  return {
    /** Runs a claimed task's executor, on its own turn of the event loop. */
    launch(row: TaskRow): void {
      if (abortedEarly.delete(row.id)) return void setImmediate(on.freed);
      const entry: Running = { row, ending: new RunEnding() };
      running.set(row.id, entry);
      // Each run starts on its own turn of the event loop, so a burst of quick tasks still lets
      // commits and HTTP requests through in between.
      setImmediate(start, entry);
    },
    /** Aborts these tasks if they run here; how they end is not written. */
    abort(ids: readonly string[], reason: unknown): void {
      for (const id of ids) abortOne(id, reason);
    },
    /** Forgets early aborts: every launch of the turns committed so far has happened. */
    forgetEarlyAborts: () => abortedEarly.clear(),
    /** Ids of the tasks running here (claims are committed before launch; a lost one stays until its executor returns). */
    ids: () => [...running.keys()],
    roots: () => [...new Set([...running.values()].map((entry) => entry.row.root_id))],
    count: () => running.size,
    /**
     * Waits up to `graceMs` for the running tasks to end, then aborts the rest as lost and
     * returns their rows (to hand back).
     */
    async stop(graceMs: number): Promise<TaskRow[]> {
      if (running.size > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => idle.push(resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
        ]);
        clearTimeout(timer);
        idle = [];
      }
      const left = [...running.values()];
      for (const entry of left) abortOne(entry.row.id, new Error('shutdown'));
      return left.map((entry) => entry.row);
    },
  };
}
