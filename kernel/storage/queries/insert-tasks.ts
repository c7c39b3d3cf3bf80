import { TASK_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner } from '../sql.ts';
import { chunks, paramFor, placeholderFor } from './task-columns.ts';

/** Inserts whole task rows, many per statement (call inside `sql.write`). */
export async function insertTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<void> {
  const columns = TASK_COLUMNS.join(', ');
  const rowPlaceholders = `(${TASK_COLUMNS.map((column) => placeholderFor(sql, column)).join(', ')})`;
  for (const chunk of chunks(rows, 200)) {
    const params = chunk.flatMap((row) => TASK_COLUMNS.map((column) => paramFor(column, row[column])));
    await runner.run(`INSERT INTO apflow_tasks (${columns}) VALUES ${chunk.map(() => rowPlaceholders).join(', ')}`, params);
  }
}
