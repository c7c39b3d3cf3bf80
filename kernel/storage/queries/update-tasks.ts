import type { Sql, SqlRunner } from '../sql.ts';
import { chunks, columnType, paramFor, type TaskChange } from './task-columns.ts';

/**
 * Applies many changes in as few statements as possible: changes that set the same columns
 * share one `UPDATE … FROM (VALUES …)` per chunk, a join on the primary key (call inside
 * `sql.write`).
 */
export async function updateTasks(sql: Sql, runner: SqlRunner, changes: readonly TaskChange[]): Promise<void> {
  const groups = new Map<string, TaskChange[]>();
  for (const change of changes) {
    const key = Object.keys(change.set).sort().join(',');
    if (key) groups.set(key, [...(groups.get(key) ?? []), change]);
  }
  for (const [key, group] of groups) {
    const columns = key.split(',');
    const sets = columns.map((column, i) => `${column} = ${sql.valueOf(`v.column${i + 2}`, columnType(column))}`).join(', ');
    const tuple = `(${Array.from({ length: columns.length + 1 }, () => '?').join(', ')})`;
    for (const chunk of chunks(group)) {
      const params = chunk.flatMap((change) => [
        change.id,
        ...columns.map((column) => paramFor(column, (change.set as Record<string, unknown>)[column])),
      ]);
      await runner.run(
        `UPDATE apflow_tasks SET ${sets} FROM (VALUES ${chunk.map(() => tuple).join(', ')}) AS v WHERE apflow_tasks.id = v.column1`,
        params,
      );
    }
  }
}

/**
 * Of `ids`, those another writer already settled as cancelled: a batch's changes to them are
 * dropped, so an external cancel wins over a claim that was made before it was seen.
 */
export function settledElsewhere(runner: SqlRunner, ids: readonly string[]): Promise<Map<string, string | null>> {
  return cancelledWhere(runner, 'id', ids);
}

/** Tasks of the trees `rootIds` that are cancelled in the database, with their messages. */
export function cancelledInTrees(runner: SqlRunner, rootIds: readonly string[]): Promise<Map<string, string | null>> {
  return cancelledWhere(runner, 'root_id', rootIds);
}

async function cancelledWhere(runner: SqlRunner, column: 'id' | 'root_id', values: readonly string[]): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  for (const chunk of chunks(values)) {
    if (chunk.length === 0) continue;
    const rows = await runner.select<{ id: string; error: string | null }>(
      `SELECT id, error FROM apflow_tasks WHERE ${column} IN (${chunk.map(() => '?').join(', ')}) AND status = 'cancelled'`,
      chunk,
    );
    for (const row of rows) found.set(row.id, row.error);
  }
  return found;
}
