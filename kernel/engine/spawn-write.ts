import { insertTasks } from '../storage/queries/insert-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { settledIn, type SettleBatch } from './settle-run.ts';
import type { Report } from './write-reports.ts';
import type { TreeTx } from './tree-tx.ts';

type EndReport = Extract<Report, { kind: 'end' }>;

/**
 * Checks, under the roots' locks, that each spawn keeps its tree within `engine.max_tree_size`
 * (other spawns may have grown it since the rows were built); a spawn that would not turns
 * into the spawner's failure, written as any ending is.
 */
export async function checkSpawns(tx: TreeTx, endings: readonly EndReport[]): Promise<void> {
  const spawning = endings.filter((report) => report.spawned);
  if (spawning.length === 0) return;
  const sizes = await treeSizes(
    tx,
    spawning.map((report) => report.row.root_id),
  );
  for (const report of spawning) {
    const { rows, maxTreeSize } = report.spawned as NonNullable<EndReport['spawned']>;
    const size = (sizes.get(report.row.root_id) ?? 0) + rows.length;
    if (size <= maxTreeSize) {
      sizes.set(report.row.root_id, size);
      continue;
    }
    const error = `spawning ${rows.length} tasks would make the tree ${size} tasks, over engine.max_tree_size (${maxTreeSize})`;
    const change: Partial<TaskRow> = {
      ...report.change,
      status: 'failed',
      error,
      completed_at: tx.now,
      waiting: null,
      ready_at: null,
    };
    Object.assign(report, { change, row: { ...report.row, ...change }, type: 'task_failed', settled: true });
    delete report.spawned;
  }
}

/**
 * Adds the rows a spawner's suspension brings into its run (inside `tx`, after its guarded
 * write held): after the tree's last task in creation order, the spawner marked as having
 * children, the run's shape marked changed, and the new tasks to check for readiness.
 */
export async function addSpawned(
  tx: TreeTx,
  spawner: TaskRow,
  rows: readonly TaskRow[],
  settled: SettleBatch,
): Promise<void> {
  const [last] = await tx.runner.select<{ at: number | string | null }>(
    'SELECT MAX(position) AS at FROM apflow_tasks WHERE root_id = ?',
    [spawner.root_id],
  );
  const start = Number(last?.at ?? 0) + 1;
  const placed = rows.map((row, i) => ({ ...row, position: start + i, created_at: tx.now, updated_at: tx.now }));
  await insertTasks(tx.sql, tx.runner, placed);
  tx.set(spawner.id, { has_children: true });
  tx.shapeChanged(spawner.root_id);
  settledIn(settled, spawner.root_id);
  const entry = settled.get(spawner.root_id) as NonNullable<ReturnType<SettleBatch['get']>>;
  entry.candidates = [...(entry.candidates ?? []), ...placed.map((row) => row.id)];
}

/** How many tasks each of these trees holds now. */
async function treeSizes(tx: TreeTx, rootIds: readonly string[]): Promise<Map<string, number>> {
  const ids = [...new Set(rootIds)];
  const rows = await tx.runner.select<{ root_id: string; n: number | string }>(
    `SELECT root_id, COUNT(*) AS n FROM apflow_tasks WHERE root_id IN (${ids.map(() => '?').join(', ')}) GROUP BY root_id`,
    ids,
  );
  return new Map(rows.map((row) => [row.root_id, Number(row.n)]));
}
