import { toIso } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner } from '../sql.ts';
import { byIds, placeholders } from './task-columns.ts';

/** A tree marked running. */
export interface RunningTreeLease {
  id: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
}

/** A task some engine runs, with its lease. */
export interface TaskLease {
  id: string;
  root_id: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
}

/**
 * Extends the leases `owner` holds on these tasks (the ones running in its process: a claim
 * whose commit was lost in transit and never launched is left to expire, and the sweep takes it
 * back). On PostgreSQL rows another transaction holds are skipped (renewed next time) rather
 * than waited for, so a heartbeat never joins a lock cycle with a cancel or a sweep.
 */
export async function renewLeases(
  sql: Sql,
  runner: SqlRunner,
  owner: string,
  ids: readonly string[],
  until: string,
): Promise<void> {
  await byIds(ids, async (chunk) => {
    const held = `id IN (${placeholders(chunk)}) AND lease_owner = ? AND status = 'in_progress'`;
    const rows =
      sql.dialect === 'postgres' ? `id IN (SELECT id FROM apflow_tasks WHERE ${held} FOR UPDATE SKIP LOCKED)` : held;
    await runner.run(`UPDATE apflow_tasks SET lease_expires_at = ${sql.time} WHERE ${rows}`, [until, ...chunk, owner]);
    return [];
  });
}

/** Of the tasks `owner` believes it runs, those it no longer holds (cancelled, or taken after its lease expired). */
export async function leasesLost(sql: Sql, ids: readonly string[], owner: string): Promise<Set<string>> {
  const held = await byIds(ids, (chunk) =>
    sql.select<{ id: string }>(
      `SELECT id FROM apflow_tasks WHERE id IN (${placeholders(chunk)}) AND status = 'in_progress' AND lease_owner = ?`,
      [...chunk, owner],
    ),
  );
  const kept = new Set(held.map((row) => row.id));
  return new Set(ids.filter((id) => !kept.has(id)));
}

/** Tasks running under another owner's lease, with their leases (few: at most the engines' slots). */
export async function othersLeases(sql: Sql, owner: string): Promise<TaskLease[]> {
  const rows = await sql.select<TaskLease>(
    "SELECT id, root_id, lease_owner, lease_expires_at FROM apflow_tasks WHERE status = 'in_progress' AND (lease_owner IS NULL OR lease_owner <> ?)",
    [owner],
  );
  return rows.map((row) => ({ ...row, lease_expires_at: toIso(row.lease_expires_at) }));
}

/** Trees marked running. */
export async function findRunningTrees(sql: Sql): Promise<RunningTreeLease[]> {
  const rows = await sql.select<RunningTreeLease>(
    "SELECT id, lease_owner, lease_expires_at FROM apflow_tasks WHERE run_state = 'running'",
  );
  return rows.map((row) => ({ ...row, lease_expires_at: toIso(row.lease_expires_at) }));
}

/** Roots marked running by a version of apflow that kept no run id (their run is resumed as a whole). */
export async function runsWithoutId(sql: Sql): Promise<string[]> {
  const rows = await sql.select<{ id: string }>(
    "SELECT id FROM apflow_tasks WHERE run_state = 'running' AND active_run IS NULL",
  );
  return rows.map((row) => row.id);
}

/** Engines that pinned tasks still waiting to run. */
export async function pinOwners(sql: Sql): Promise<string[]> {
  const rows = await sql.select<{ pinned_to: string }>(
    "SELECT DISTINCT pinned_to FROM apflow_tasks WHERE pinned_to IS NOT NULL AND status IN ('pending', 'input_required')",
  );
  return rows.map((row) => row.pinned_to);
}

/** Lets any engine run the tasks pinned to `owner` (it is gone, or stopping). */
export async function unpin(runner: SqlRunner, owner: string): Promise<void> {
  await runner.run(
    "UPDATE apflow_tasks SET pinned_to = NULL WHERE pinned_to = ? AND status IN ('pending', 'input_required')",
    [owner],
  );
}
