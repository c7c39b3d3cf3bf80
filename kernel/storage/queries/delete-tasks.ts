import type { SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/** Deletes tasks by id (call inside `sql.write`). */
export async function deleteTasks(runner: SqlRunner, ids: readonly string[]): Promise<void> {
  for (const chunk of chunks(ids, 500)) {
    if (chunk.length)
      await runner.run(`DELETE FROM apflow_tasks WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
  }
}
