import type { TaskCounts } from '../../hooks/hook-types.ts';
import type { Sql, SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/** Counts with every key present and all zero. */
export function noCounts(): TaskCounts {
  return { total: 0, completed: 0, failed: 0, cancelled: 0, pending: 0, in_progress: 0, input_required: 0 };
}

type CountedStatus = Exclude<keyof TaskCounts, 'total'>;
const COUNTED = new Set<string>(['completed', 'failed', 'cancelled', 'pending', 'in_progress', 'input_required']);
const isCounted = (status: string): status is CountedStatus => COUNTED.has(status);

/** Adds `n` tasks of `status` to `counts`. */
function add(counts: TaskCounts, status: string, n: number): void {
  counts.total += n;
  if (isCounted(status)) counts[status] += n;
}

/**
 * The tasks of these runs ([root id, run id]) per status, by root id: the tasks whose `run_id`
 * is the run's. One grouped statement for every run (call inside the transaction, after its
 * changes are written, to count what it settled).
 */
export async function countRunStatuses(
  sql: Sql,
  runner: Pick<SqlRunner, 'select'>,
  runs: readonly (readonly [string, string])[],
): Promise<Map<string, TaskCounts>> {
  const counted = new Map(runs.map(([rootId]) => [rootId, noCounts()]));
  for (const chunk of chunks(runs, 250)) {
    const [from, params] = sql.table('v', ['text', 'text'], chunk);
    const rows = await runner.select<{ root_id: string; status: string; n: number | string }>(
      `SELECT t.root_id, t.status, COUNT(*) AS n
         FROM ${from}
         JOIN apflow_tasks t ON t.root_id = v.column1 AND t.run_id = v.column2
        GROUP BY t.root_id, t.status`,
      params,
    );
    for (const row of rows) {
      const counts = counted.get(row.root_id);
      if (counts) add(counts, row.status, Number(row.n));
    }
  }
  return counted;
}

/** The tasks of the tree rooted at `rootId` per status, whatever run they were last in. */
export async function countTreeStatuses(runner: Pick<SqlRunner, 'select'>, rootId: string): Promise<TaskCounts> {
  const rows = await runner.select<{ status: string; n: number | string }>(
    'SELECT status, COUNT(*) AS n FROM apflow_tasks WHERE root_id = ? GROUP BY status',
    [rootId],
  );
  const counts = noCounts();
  for (const row of rows) add(counts, row.status, Number(row.n));
  return counts;
}
