import { randomUUID } from 'node:crypto';
import type { ApflowError } from '../errors/apflow-error.ts';
import { enterRuns, type RunEntry } from '../storage/queries/enter-runs.ts';
import { selectSmallTreesIn, selectTreesIn } from '../storage/queries/run-queries.ts';
import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import { leaseHolds } from './engine-owner.ts';
import { executionScope, recoverOrphan, resetForRerun } from './run-rules.ts';
import { settleRuns, type RunSettle, type SettledTask } from './settle-run.ts';
import { dropSpawned } from './drop-spawned.ts';
import { buildShape, type TreeShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * Trees up to this size are remembered by the engine that begins their run (see run-memory.ts),
 * so a task that completes there claims what it unblocks in the same turn; bigger ones go
 * through the database's readiness check only, to bound memory.
 */
export const MIRROR_MAX = 5000;

/**
 * Trees up to this size enter their runs together with the others begun in the same turn (one
 * statement, by id: a hundred single-task runs cost one write); a bigger one enters with a
 * statement of its own.
 */
const SHARED_ENTRY_MAX = 250;

/** Which run to begin. */
export interface RunToBegin {
  /** The task executed: the root runs the whole tree, another task itself and its dependencies. */
  taskId: string;
  /** The engine the run's tasks are pinned to, if it needs that engine's memory. */
  pinnedTo: string | null;
  /** Demo mode: executors give their demo result (stored with the tasks: any engine honours it). */
  demo?: boolean;
  /**
   * Resume a run an older apflow marked running without a run id: the whole tree, finished tasks
   * kept as they are.
   */
  resume?: boolean;
  /** The `traceparent` of the traced request beginning it (its spans join that trace). */
  traceParent?: string | null;
  /** Begin nothing, and answer this refusal, unless the tree is running already. */
  refuseUnlessRunning?: ApflowError;
  /** The rows of a new tree (root first) to insert in the same transaction, then run. */
  create?: readonly TaskRow[];
}

/** Whether a run began; when not, the tree was running already (or is gone). */
export type RunBegun =
  | {
      begun: true;
      rootId: string;
      runId: string;
      /** Seq of its first event. */
      firstSeq: number;
      /** Seq of the last event of the tree the starting transaction wrote (set by whoever commits it). */
      lastSeq?: number;
      /** The run ended in the transaction that began it (nothing in it could run). */
      endedAtOnce: boolean;
      /** What the engine that began it may remember of it (trees up to MIRROR_MAX tasks). */
      memory?: { shape: TreeShape; pinnedTo: string | null; rows: TaskRow[] };
    }
  | { begun: false; missing: true }
  | { begun: false; missing: false; /** The tree already running. */ rootId: string }
  | { begun: false; missing: false; rootId: string; /** Not running, and refused. */ refused: ApflowError };

/**
 * Begins runs inside `tx`, many trees sharing each statement: refuses a tree already running (or
 * begun earlier in the same batch), puts the tasks in scope into the run (ended ones start over;
 * ones left running by a stopped server are re-queued or failed), appends the run's first event,
 * and makes the tasks with nothing to wait for ready. Returns one answer per request, in order,
 * and how many tasks became ready.
 */
export async function beginRuns(
  tx: TreeTx,
  starts: readonly RunToBegin[],
): Promise<{ runs: RunBegun[]; readied: number }> {
  const rootOf = await tx.lockTreesOf(starts.map((start) => start.taskId));
  const wanted = [
    ...new Set(
      starts.flatMap((start) => {
        const rootId = rootOf.get(start.taskId);
        return rootId && (tx.roots.get(rootId)?.run_state !== 'running' || start.resume) ? [rootId] : [];
      }),
    ),
  ];
  const trees = new Map<string, TaskRow[]>();
  const add = (rows: readonly TaskRow[]) => {
    for (const row of rows) {
      const tree = trees.get(row.root_id);
      if (tree) tree.push(row);
      else trees.set(row.root_id, [row]);
    }
  };
  add(await selectSmallTreesIn(tx.runner, wanted, MIRROR_MAX));
  const mirrored = new Set(trees.keys());
  const big = wanted.filter((rootId) => !mirrored.has(rootId));
  if (big.length) add(await selectTreesIn(tx.runner, big, true));
  const runs: RunBegun[] = [];
  const entries: RunEntry[] = [];
  const settles = new Map<string, RunSettle>();
  await dropSpawned(tx, starts, rootOf, trees);
  for (const start of starts) {
    const rootId = rootOf.get(start.taskId);
    const root = rootId === undefined ? undefined : tx.roots.get(rootId);
    const rows = rootId === undefined ? undefined : trees.get(rootId);
    if (rootId === undefined || !root) {
      runs.push({ begun: false, missing: true });
    } else if (!rows || (root.run_state === 'running' && !start.resume)) {
      runs.push({ begun: false, missing: false, rootId });
    } else if (start.refuseUnlessRunning) {
      runs.push({ begun: false, missing: false, rootId, refused: start.refuseUnlessRunning });
    } else {
      const began = beginRun(tx, { ...start, rootId }, rows);
      entries.push(began.entry);
      settles.set(rootId, began.settle);
      runs.push({
        begun: true,
        rootId,
        runId: began.entry.runId,
        firstSeq: began.firstSeq,
        endedAtOnce: false,
        ...(mirrored.has(rootId) ? { memory: { shape: began.shape, pinnedTo: start.pinnedTo, rows } } : {}),
      });
    }
  }
  if (entries.length === 0) return { runs, readied: 0 };
  await enterRuns(tx.sql, tx.runner, entries);
  const { readied, finished } = await settleRuns(tx, settles);
  for (const run of runs) if (run.begun) run.endedAtOnce = finished.has(run.rootId);
  return { runs, readied };
}

/** The message of a run's first event. */
export const RUN_STARTED = 'Task tree execution started';

/** Puts a task's row into run `runId` as `start` asks (its pin, demo flag and trace). */
export function intoRun(row: TaskRow, start: RunToBegin, runId: string): void {
  row.run_id = runId;
  row.pinned_to = start.pinnedTo;
  row.run_demo = start.demo === true;
  row.trace_parent = start.traceParent ?? null;
}

/** Begins one run in the transaction's changes; its tasks enter the run with the others. */
function beginRun(
  tx: TreeTx,
  start: RunToBegin & { rootId: string },
  rows: TaskRow[],
): { entry: RunEntry; settle: RunSettle; firstSeq: number; shape: TreeShape } {
  const { rootId, taskId } = start;
  const scope = taskId === rootId ? null : executionScope(rows, taskId);
  const runId = randomUUID();
  const settled: SettledTask[] = [];
  const failedNow: TaskRow[] = [];
  for (const row of rows) {
    if (scope && !scope.has(row.id)) continue;
    intoRun(row, start, runId);
    let change: Partial<TaskRow> | null = null;
    if (row.status === 'in_progress') {
      if (!leaseHolds(row, Date.now())) change = recoverOrphan(row);
    } else if (!start.resume) {
      change = resetForRerun(row);
    }
    if (change) {
      Object.assign(row, change);
      tx.set(row.id, change);
      if (row.status === 'failed') failedNow.push(row);
    }
    if (TERMINAL_STATUSES.has(row.status) && row.status !== 'completed')
      settled.push({ id: row.id, status: row.status });
  }
  const root = tx.roots.get(rootId);
  if (root) {
    root.run_id = runId;
    root.run_state = 'running';
  }
  tx.set(rootId, { run_state: 'running', active_run: runId });
  const shape = buildShape(rows, runId);
  tx.shapes.put(rootId, runId, root?.shape_rev ?? 0, shape);
  const rootRow = rows.find((row) => row.id === rootId) as TaskRow;
  const first = tx.event('progress', rootRow, RUN_STARTED);
  for (const row of failedNow) tx.event('task_failed', row);
  const candidates = rows.filter((row) => row.run_id === runId && row.status === 'pending').map((row) => row.id);
  return {
    entry: {
      rootId,
      ids: scope ? [...scope] : rows.length <= SHARED_ENTRY_MAX ? rows.map((row) => row.id) : null,
      runId,
      pinnedTo: start.pinnedTo,
      demo: start.demo === true,
      traceParent: start.traceParent ?? null,
    },
    settle: { settled, candidates },
    firstSeq: first.seq,
    shape,
  };
}
