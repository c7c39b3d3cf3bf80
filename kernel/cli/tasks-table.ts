import type { TaskJson } from '../tasks/task-record.ts';
import { printTable } from './print.ts';

/** `tasks list` on a terminal: one row per task. */
export function printTaskTable(tasks: readonly TaskJson[]): void {
  printTable(
    ['ID', 'STATUS', 'PROGRESS', 'USER', 'NAME', 'CREATED'],
    tasks.map((task) => [
      task.id,
      task.status,
      `${Math.round(task.progress * 100)}%`,
      task.user_id ?? '',
      task.name,
      task.created_at,
    ]),
  );
}

/** `tasks count` as a table: one row per status, then the total (and whose tasks, when the answer names a user). */
export function printCountTable(counts: Record<string, unknown>): void {
  const rows = Object.entries(counts)
    .filter(([key]) => key !== 'total' && key !== 'user_id')
    .map(([status, count]) => [status, String(count)]);
  if (typeof counts.user_id === 'string') process.stdout.write(`Tasks of ${counts.user_id}\n`);
  printTable(['STATUS', 'COUNT'], [...rows, ['total', String(counts.total)]]);
}
