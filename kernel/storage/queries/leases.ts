import { toIso } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner } from '../sql.ts';

/** A tree marked running, with its owner's lease. */
export interface RunningTreeLease {
  id: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
}

/**
 * Marks a tree running and owned by `owner` until `until`, unless another owner's lease is
 * still valid (`force` takes it anyway: the owner is known dead). Returns whether it was taken.
 */
export async function adoptTree(
  sql: Sql,
  runner: SqlRunner,
  options: { rootId: string; owner: string; until: string; now: string; force: boolean },
): Promise<boolean> {
  const rows = await runner.select<{ id: string }>(
    `UPDATE apflow_tasks SET run_state = 'running', lease_owner = ?, lease_expires_at = ${sql.time}
     WHERE id = ? AND (${sql.typed('boolean')} OR run_state IS NULL OR lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ${sql.time})
     RETURNING id`,
    [options.owner, options.until, options.rootId, options.force, options.owner, options.now],
  );
  return rows.length === 1;
}

/** Clears the running mark and lease of a finished tree (only its owner does). */
export async function releaseTree(runner: SqlRunner, rootId: string, owner: string): Promise<void> {
  await runner.run('UPDATE apflow_tasks SET run_state = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?', [
    rootId,
    owner,
  ]);
}

/** Extends every lease `owner` holds (running tasks and owned trees). */
export async function renewLeases(sql: Sql, runner: SqlRunner, owner: string, until: string): Promise<void> {
  await runner.run(`UPDATE apflow_tasks SET lease_expires_at = ${sql.time} WHERE lease_owner = ?`, [until, owner]);
}

/** Trees marked running, with their leases. */
export async function findRunningTrees(sql: Sql): Promise<RunningTreeLease[]> {
  const rows = await sql.select<RunningTreeLease>(
    "SELECT id, lease_owner, lease_expires_at FROM apflow_tasks WHERE run_state = 'running'",
  );
  return rows.map((row) => ({ ...row, lease_expires_at: toIso(row.lease_expires_at) }));
}
