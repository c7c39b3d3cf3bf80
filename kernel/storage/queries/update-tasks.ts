import type { Sql, SqlRunner } from '../sql.ts';
import { chunks, paramFor, placeholderFor, type TaskChange } from './task-columns.ts';

/**
 * Applies many changes in as few statements as possible: changes that set the same columns
 * share one `UPDATE … SET col = CASE id WHEN … END` per chunk (call inside `sql.write`).
 */
export async function updateTasks(sql: Sql, runner: SqlRunner, changes: readonly TaskChange[]): Promise<void> {
  const groups = new Map<string, TaskChange[]>();
  for (const change of changes) {
    const key = Object.keys(change.set).sort().join(',');
    if (key) groups.set(key, [...(groups.get(key) ?? []), change]);
  }
  for (const [key, group] of groups) {
    const columns = key.split(',');
    for (const chunk of chunks(group)) {
      const params: unknown[] = [];
      const sets = columns.map((column) => {
        const cases = chunk.map((change) => {
          params.push(change.id, paramFor(column, (change.set as Record<string, unknown>)[column]));
          return `WHEN ? THEN ${placeholderFor(sql, column)}`;
        });
        return `${column} = CASE id ${cases.join(' ')} END`;
      });
      params.push(...chunk.map((change) => change.id));
      await runner.run(`UPDATE apflow_tasks SET ${sets.join(', ')} WHERE id IN (${chunk.map(() => '?').join(', ')})`, params);
    }
  }
}

/** A claim: the task moves from pending to in_progress under a lease, with its final inputs. */
export interface TaskClaim {
  id: string;
  inputs: Record<string, unknown>;
  startedAt: string;
}

/**
 * Claims pending tasks for `owner` until `leaseUntil`; only rows still `pending` are taken, so
 * two claimers never get the same task. Returns the ids claimed (call inside `sql.write`).
 */
export async function claimTasks(
  sql: Sql,
  runner: SqlRunner,
  claims: readonly TaskClaim[],
  lease: { owner: string; until: string },
): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const chunk of chunks(claims)) {
    const params: unknown[] = [];
    const inputs = chunk.map((claim) => {
      params.push(claim.id, JSON.stringify(claim.inputs));
      return `WHEN ? THEN ${sql.json}`;
    });
    params.push(chunk[0]?.startedAt ?? new Date().toISOString(), chunk[0]?.startedAt ?? new Date().toISOString(), lease.owner, lease.until);
    params.push(...chunk.map((claim) => claim.id));
    const rows = await runner.select<{ id: string }>(
      `UPDATE apflow_tasks SET status = 'in_progress', inputs = CASE id ${inputs.join(' ')} END,
         started_at = ${sql.time}, updated_at = ${sql.time}, lease_owner = ?, lease_expires_at = ${sql.time},
         attempts = attempts + 1, next_attempt_at = NULL
       WHERE id IN (${chunk.map(() => '?').join(', ')}) AND status = 'pending' RETURNING id`,
      params,
    );
    for (const row of rows) claimed.add(row.id);
  }
  return claimed;
}
