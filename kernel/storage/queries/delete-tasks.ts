import type { SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/**
 * Deletes tasks by id, and the event logs of those that are roots (call inside `sql.write`). Their LLM calls stay in the usage ledger (the
 * money was spent: a user's days keep them) but no longer under their ids, so a new task given a
 * deleted one's id does not show its usage.
 */
export async function deleteTasks(runner: SqlRunner, ids: readonly string[]): Promise<void> {
  for (const chunk of chunks(ids, 500)) {
    if (!chunk.length) continue;
    const list = chunk.map(() => '?').join(', ');
    await runner.run(`DELETE FROM apflow_tasks WHERE id IN (${list})`, chunk);
    // A deleted root's event log goes with it: a tree made again with its id starts a log of its own.
    await runner.run(`DELETE FROM apflow_event_batches WHERE root_task_id IN (${list})`, chunk);
    for (const column of ['task_id', 'root_id'])
      await runner.run(
        `UPDATE apflow_usage SET ${column} = 'deleted:' || ${column} WHERE ${column} IN (${list})`,
        chunk,
      );
  }
}
