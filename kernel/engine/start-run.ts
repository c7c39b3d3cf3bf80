import { randomUUID } from 'node:crypto';
import { ApflowError } from '../errors/apflow-error.ts';
import { enterRun, selectTreeIn, treeSize } from '../storage/queries/run-queries.ts';
import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import { isOwnerGone } from './engine-owner.ts';
import { executionScope, recoverOrphan, resetForRerun } from './run-rules.ts';
import { settleRun, type RunSettlement, type SettledTask } from './settle-run.ts';
import { buildShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * Trees up to this size keep their rows in memory while they run here, so a task that completes
 * can start what it unblocks at once (see continue-locally.ts); bigger ones go through the
 * database only, to bound memory.
 */
const MIRROR_MAX = 5000;

/** Which run to start. */
export interface RunStart {
  rootId: string;
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

/** Whether the run started; when not, the tree was running already. */
export type RunStarted = ({ started: true; runId: string; /** Seq of its first event. */ firstSeq: number } & RunSettlement) | { started: false };

/**
 * Starts a run inside `tx`: refuses a tree already running, puts the tasks in scope into the
 * run (finished ones start over; ones left running by a stopped server are re-queued or failed),
 * announces the start, and makes the tasks with nothing to wait for claimable.
 */
export async function startRun(tx: TreeTx, start: RunStart): Promise<RunStarted> {
  const { rootId, taskId } = start;
  await tx.lock([rootId]);
  const root = tx.roots.get(rootId);
  if (!root) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  if (root.run_state === 'running' && !start.resume) return { started: false };
  const mirrored = (await treeSize(tx.runner, rootId)) <= MIRROR_MAX;
  const rows = await selectTreeIn(tx.runner, rootId, !mirrored);
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
      const alive = row.lease_owner && row.lease_expires_at && Date.parse(row.lease_expires_at) > Date.now() && !isOwnerGone(row.lease_owner);
      if (!alive) change = recoverOrphan(row);
    } else if (!start.resume) {
      change = resetForRerun(row);
    }
    if (change) {
      Object.assign(row, change);
      tx.set(row.id, change);
      if (row.status === 'failed') fresh.push(row);
    }
    if (TERMINAL_STATUSES.has(row.status) && row.status !== 'completed') settled.push({ id: row.id, status: row.status });
  }
  await enterRun(tx.sql, tx.runner, rootId, scope ? [...scope] : null, { runId, pinnedTo: start.pinnedTo, demo: start.demo === true });
  root.run_id = runId;
  root.run_state = 'running';
  tx.set(rootId, { run_state: 'running', active_run: runId });
  const shape = buildShape(rows, runId);
  if (mirrored) shape.mirror = { pinnedTo: start.pinnedTo, rows: new Map(rows.map((row) => [row.id, row])) };
  tx.shapes.put(rootId, runId, shape);
  const rootRow = rows.find((row) => row.id === rootId) as TaskRow;
  const first = tx.event('progress', rootRow, 'Task tree execution started');
  for (const row of fresh) tx.event('task_failed', row);
  const pending = rows.filter((row) => row.run_id === runId && row.status === 'pending').map((row) => row.id);
  const settlement = await settleRun(tx, rootId, settled, pending);
  return { started: true, runId, firstSeq: first.seq, ...settlement };
}
