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

/**
 * Of `ids`, those another writer already settled as cancelled: a batch's changes to them are
 * dropped, so an external cancel wins over a claim that was made before it was seen.
 */
export async function settledElsewhere(runner: SqlRunner, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of chunks(ids)) {
    if (chunk.length === 0) continue;
    const rows = await runner.select<{ id: string }>(
      `SELECT id FROM apflow_tasks WHERE id IN (${chunk.map(() => '?').join(', ')}) AND status = 'cancelled'`,
      chunk,
    );
    for (const row of rows) found.add(row.id);
  }
  return found;
}
