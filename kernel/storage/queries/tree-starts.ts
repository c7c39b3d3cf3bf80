import { toIso } from '../../tasks/task-record.ts';
import type { SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/**
 * When each of these trees began (by root id): the earliest `started_at` of its tasks. A root
 * runs after its children, so its own `started_at` is late; a run resets the times of the tasks it
 * runs, so for a tree run as a whole this is its latest run's start. Trees with no started task are absent.
 */
export async function selectTreeStarts(
  runner: Pick<SqlRunner, 'select'>,
  rootIds: readonly string[],
): Promise<Map<string, string>> {
  const starts = new Map<string, string>();
  for (const chunk of chunks(rootIds, 500)) {
    const rows = await runner.select<{ root_id: string; started: string | Date | null }>(
      `SELECT root_id, MIN(started_at) AS started FROM apflow_tasks
        WHERE root_id IN (${chunk.map(() => '?').join(', ')}) AND started_at IS NOT NULL GROUP BY root_id`,
      [...chunk],
    );
    for (const row of rows) {
      const started = toIso(row.started);
      if (started) starts.set(row.root_id, started);
    }
  }
  return starts;
}
