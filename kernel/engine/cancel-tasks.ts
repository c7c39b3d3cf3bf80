import { selectPlaces, selectStates, type TaskState } from '../storage/queries/run-queries.ts';
import { TERMINAL_STATUSES, UNFINISHED_STATUSES } from '../tasks/task-record.ts';
import { settleAndWake, settledIn, type SettleBatch } from './settle-run.ts';
import { buildShape, subtreeOf, type TreeShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/** Per-id answer of a cancel, in the original's shape. */
export type CancelResult = Record<string, unknown> & { task_id: string; status: string };

/**
 * Cancels each task and its unfinished descendants inside `tx` (under their roots' locks), then
 * carries that through their runs. Tasks running on this engine are returned to be aborted here;
 * tasks running on other engines are noted in `tx.notes.cancelled` so their engines hear of it.
 */
export async function cancelTasks(
  tx: TreeTx,
  ids: readonly string[],
  message: string,
): Promise<{ results: CancelResult[]; abortHere: string[] }> {
  const seen = new Map((await selectStates(tx.sql, tx.runner, ids)).map((row) => [row.id, row]));
  await tx.lock([...seen.values()].map((row) => row.root_id));
  const states = new Map<string, TaskState>((await selectStates(tx.sql, tx.runner, ids)).map((row) => [row.id, row]));
  const results: CancelResult[] = [];
  const abortHere: string[] = [];
  const settled: SettleBatch = new Map();
  const shapes = new Map<string, TreeShape>();
  for (const id of ids) {
    const row = states.get(id);
    if (!row) {
      results.push({ task_id: id, status: 'failed', message: `Task ${id} not found`, error: 'Task not found' });
      continue;
    }
    if (TERMINAL_STATUSES.has(row.status)) {
      results.push({
        task_id: id,
        status: 'failed',
        message: `Task ${id} is already ${row.status}, cannot cancel`,
        current_status: row.status,
      });
      continue;
    }
    let shape = shapes.get(row.root_id);
    if (!shape) {
      shape = (await tx.runShape(row.root_id))?.shape ?? buildShape(await selectPlaces(tx.runner, row.root_id), null);
      shapes.set(row.root_id, shape);
    }
    await tx.sync();
    for (const task of await selectStates(tx.sql, tx.runner, subtreeOf(shape, id), UNFINISHED_STATUSES)) {
      if (task.status === 'in_progress') (task.lease_owner === tx.owner ? abortHere : tx.notes.cancelled).push(task.id);
      const cancelled = { ...task, status: 'cancelled' as const, error: message };
      tx.set(task.id, {
        status: 'cancelled',
        error: message,
        completed_at: tx.now,
        updated_at: tx.now,
        lease_owner: null,
        lease_expires_at: null,
        ready_at: null,
        next_attempt_at: null,
        waiting: null,
      });
      tx.event('task_cancelled', cancelled);
      states.set(task.id, cancelled);
      settledIn(settled, task.root_id).push({ id: task.id, status: 'cancelled' });
    }
    results.push({ task_id: id, status: 'cancelled', message });
  }
  await settleAndWake(tx, settled);
  return { results, abortHere };
}
