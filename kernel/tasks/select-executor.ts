import { ApflowError } from '../errors/apflow-error.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { TaskRow } from './task-record.ts';

/**
 * Picks a task's executor: `params.executor_id`, then `schemas.method`, then the task's name when
 * it is an executor id. No match is an error naming what was asked for and what exists.
 */
export function selectExecutor(
  task: TaskRow,
  lookup: (id: string) => RegisteredExecutor | undefined,
  registered: () => string[],
): RegisteredExecutor {
  const asked: [string, unknown][] = [
    ['params.executor_id', task.params?.executor_id],
    ['schemas.method', task.schemas?.method],
    ['name', task.name],
  ];
  for (const [, id] of asked) {
    if (typeof id !== 'string') continue;
    const found = lookup(id);
    if (found) return found;
  }
  const tried = asked.flatMap(([where, id]) => (typeof id === 'string' ? [`${where} '${id}'`] : []));
  const ids = registered().sort();
  throw new ApflowError('APF_NOT_FOUND', {
    message: `No executor for task '${task.name}': asked for ${tried.join(', ')}; registered executors: ${ids.length ? ids.join(', ') : 'none'}`,
  });
}
