import { TASK_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner, Statement } from '../sql.ts';
import { chunks, paramFor, placeholderFor } from './task-columns.ts';

/** The statements that insert whole task rows, many per statement. */
export function insertStatements(sql: Sql, rows: readonly TaskRow[]): Statement[] {
  const columns = TASK_COLUMNS.join(', ');
  const rowPlaceholders = `(${TASK_COLUMNS.map((column) => placeholderFor(sql, column)).join(', ')})`;
  return chunks(rows, 200).map((chunk) => [
    `INSERT INTO apflow_tasks (${columns}) VALUES ${chunk.map(() => rowPlaceholders).join(', ')}`,
    chunk.flatMap((row) => TASK_COLUMNS.map((column) => paramFor(column, row[column]))),
  ]);
}

/** Inserts whole task rows, many per statement (call inside `sql.write`). */
export async function insertTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<void> {
  for (const [text, params] of insertStatements(sql, rows)) await runner.run(text, params);
}
