import { randomUUID } from 'node:crypto';
import { enterRuns, selectSmallTreesIn, selectTreesIn, type RunEntry } from '../storage/queries/run-queries.ts';
import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import { isOwnerGone } from './engine-owner.ts';
import { executionScope, recoverOrphan, resetForRerun } from './run-rules.ts';
import { settleRuns, type RunSettle, type SettledTask } from './settle-run.ts';
import { buildShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * Trees up to this size keep their rows in memory while they run here, so a task that completes
 * can start what it unblocks at once (see continue-locally.ts); bigger ones go through the
 * database only, to bound memory.
 */
const MIRROR_MAX = 5000;

/**
 * Trees up to this size enter their runs together with the others started with them (one
 * statement, by id); a bigger one enters with a statement of its own.
 */
const SHARED_ENTRY_MAX = 250;

/** Which run to start. */
export interface RunStart {
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
}

/** Whether a run started; when not, the tree was running already (or is gone). */
export type RunStarted =
  | {
      started: true;
      rootId: string;
      runId: string;
      /** Seq of its first event. */
      firstSeq: number;
      /** Seq of the last event of the tree the starting transaction wrote (set by whoever commits it). */
      lastSeq?: number;
      /** The run ended in the transaction that started it (nothing in it could run). */
      finished: boolean;
    }
  | { started: false; missing: true }
  | { started: false; missing: false; /** The tree already running. */ rootId: string };

/**
 * Starts runs inside `tx`, many trees sharing each statement: refuses a tree already running (or
 * started earlier in the same batch), puts the tasks in scope into the run (finished ones start
 * over; ones left running by a stopped server are re-queued or failed), announces the start, and
 * makes the tasks with nothing to wait for claimable. Returns one answer per start, in order, and
 * how many tasks became claimable.
 */
export async function startRuns(
  tx: TreeTx,
  starts: readonly RunStart[],
): Promise<{ runs: RunStarted[]; readied: number }> {
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
  const runs: RunStarted[] = [];
  const entries: RunEntry[] = [];
  const settles = new Map<string, RunSettle>();
  for (const start of starts) {
    const rootId = rootOf.get(start.taskId);
    const root = rootId === undefined ? undefined : tx.roots.get(rootId);
    const rows = rootId === undefined ? undefined : trees.get(rootId);
    if (rootId === undefined || !root) {
      runs.push({ started: false, missing: true });
    } else if (!rows || (root.run_state === 'running' && !start.resume)) {
      runs.push({ started: false, missing: false, rootId });
    } else {
      const began = beginRun(tx, { ...start, rootId }, rows, mirrored.has(rootId));
      entries.push(began.entry);
      settles.set(rootId, began.settle);
      runs.push({ started: true, rootId, runId: began.entry.runId, firstSeq: began.firstSeq, finished: false });
    }
  }
  if (entries.length === 0) return { runs, readied: 0 };
  await enterRuns(tx.sql, tx.runner, entries);
  const { readied, finished } = await settleRuns(tx, settles);
  for (const run of runs) if (run.started) run.finished = finished.has(run.rootId);
  return { runs, readied };
}

/** Starts one run in memory and in the transaction's changes; its tasks enter the run with the others. */
function beginRun(
  tx: TreeTx,
  start: RunStart & { rootId: string },
  rows: TaskRow[],
  mirrored: boolean,
): { entry: RunEntry; settle: RunSettle; firstSeq: number } {
  const { rootId, taskId } = start;
  const scope = taskId === rootId ? null : executionScope(rows, taskId);
  const runId = randomUUID();
  const settled: SettledTask[] = [];
  const fresh: TaskRow[] = [];
  for (const row of rows) {
    if (scope && !scope.has(row.id)) continue;
    row.run_id = runId;
    row.pinned_to = start.pinnedTo;
    row.run_demo = start.demo === true;
    let change: Partial<TaskRow> | null = null;
    if (row.status === 'in_progress') {
      const alive =
        row.lease_owner &&
        row.lease_expires_at &&
        Date.parse(row.lease_expires_at) > Date.now() &&
        !isOwnerGone(row.lease_owner);
      if (!alive) change = recoverOrphan(row);
    } else if (!start.resume) {
      change = resetForRerun(row);
    }
    if (change) {
      Object.assign(row, change);
      tx.set(row.id, change);
      if (row.status === 'failed') fresh.push(row);
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
  if (mirrored) shape.mirror = { pinnedTo: start.pinnedTo, rows: new Map(rows.map((row) => [row.id, row])) };
  tx.shapes.put(rootId, runId, shape);
  const rootRow = rows.find((row) => row.id === rootId) as TaskRow;
  const first = tx.event('progress', rootRow, 'Task tree execution started');
  for (const row of fresh) tx.event('task_failed', row);
  const candidates = rows.filter((row) => row.run_id === runId && row.status === 'pending').map((row) => row.id);
  return {
    entry: {
      rootId,
      ids: scope ? [...scope] : rows.length <= SHARED_ENTRY_MAX ? rows.map((row) => row.id) : null,
      runId,
      pinnedTo: start.pinnedTo,
      demo: start.demo === true,
    },
    settle: { settled, candidates },
    firstSeq: first.seq,
  };
}
