import type { Sql, SqlRunner } from '../sql.ts';
import { chunks, columnType, paramFor, statusAmong, type TaskChange } from './task-columns.ts';

/**
 * Applies many changes in as few statements as possible: changes that set the same columns
 * share one `UPDATE … FROM (VALUES …)` per chunk, a join on the primary key (call inside
 * `sql.write`). With `heldBy`, a task is changed only while that engine holds it (running under
 * its lease), and the ids changed come back: the guard and the write are one statement.
 */
export async function updateTasks(
  sql: Sql,
  runner: SqlRunner,
  changes: readonly TaskChange[],
  options: { heldBy?: string } = {},
): Promise<Set<string>> {
  const changed = new Set<string>();
  const held: Promise<{ id: string }[]>[] = [];
  const groups = new Map<string, TaskChange[]>();
  for (const change of changes) {
    const key = Object.keys(change.set).sort().join(',');
    if (!key) continue;
    const group = groups.get(key);
    if (group) group.push(change);
    else groups.set(key, [change]);
  }
  const guard =
    options.heldBy === undefined
      ? ''
      : ` AND ${statusAmong(['in_progress'], 'apflow_tasks.status')} AND apflow_tasks.lease_owner = ? RETURNING apflow_tasks.id`;
  for (const [key, group] of groups) {
    const columns = key.split(',');
    const sets = columns
      .map((column, i) => `${column} = ${sql.valueOf(`v.column${i + 2}`, columnType(column))}`)
      .join(', ');
    const types = ['text' as const, ...columns.map(columnType)];
    for (const chunk of chunks(group)) {
      const [from, params] = sql.table(
        'v',
        types,
        chunk.map((change) => [
          change.id,
          ...columns.map((column) => paramFor(column, (change.set as Record<string, unknown>)[column])),
        ]),
      );
      const statement = `UPDATE apflow_tasks SET ${sets} FROM ${from} WHERE apflow_tasks.id = v.column1${guard}`;
      if (options.heldBy === undefined) await runner.run(statement, params);
      else held.push(runner.select<{ id: string }>(statement, [...params, options.heldBy]));
    }
  }
  // All sent before any answer is awaited: on a pipelined connection one round trip for all,
  // and whatever the caller sends next goes behind every one of them.
  for (const rows of await Promise.all(held)) for (const row of rows) changed.add(row.id);
  return changed;
}
