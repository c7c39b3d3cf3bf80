import { TASK_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner, Statement } from '../sql.ts';
import { chunks, columnType, paramFor } from './task-columns.ts';

/**
 * The statements that insert whole task rows, many per statement, made one at a time as they are
 * run (a big tree's parameters are never all in memory at once).
 */
export function* insertStatements(sql: Sql, rows: readonly TaskRow[], tail = ''): Generator<Statement> {
  const columns = TASK_COLUMNS.join(', ');
  const types = TASK_COLUMNS.map(columnType);
  const values = TASK_COLUMNS.map((column, i) => sql.valueOf(`v.column${i + 1}`, types[i]));
  for (const chunk of chunks(rows, 200)) {
    const [from, params] = sql.table(
      'v',
      types,
      chunk.map((row) => TASK_COLUMNS.map((column) => paramFor(column, row[column]))),
    );
    // `WHERE true`: SQLite reads an upsert after `INSERT … SELECT … FROM x` as a join's ON otherwise.
    yield [`INSERT INTO apflow_tasks (${columns}) SELECT ${values.join(', ')} FROM ${from} WHERE true${tail}`, params];
  }
}

/** Inserts whole task rows, many per statement (call inside `sql.write`). */
export async function insertTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<void> {
  for (const [text, params] of insertStatements(sql, rows)) await runner.run(text, params);
}

/**
 * Inserts the rows whose id is free, leaving out those whose id is taken (also by an earlier row
 * of the same call); returns the ids inserted (call inside `sql.write`).
 */
export async function insertFreeTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const [text, params] of insertStatements(sql, rows, ' ON CONFLICT (id) DO NOTHING RETURNING id'))
    for (const row of await runner.select<{ id: string }>(text, params)) inserted.add(row.id);
  return inserted;
}
