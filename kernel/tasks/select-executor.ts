import { ApflowError } from '../errors/apflow-error.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { TaskRow } from './task-record.ts';

/** What a task's executor is chosen by. */
export type Selectable = Pick<TaskRow, 'name' | 'params' | 'schemas'>;

const askedFor = (task: Selectable): [string, unknown][] => [
  ['params.executor_id', task.params?.executor_id],
  ['schemas.method', task.schemas?.method],
  ['name', task.name],
];

/** The executor `task` selects (see {@link selectExecutor}), or undefined when none matches. */
export function findExecutor(
  task: Selectable,
  lookup: (id: string) => RegisteredExecutor | undefined,
): RegisteredExecutor | undefined {
  for (const [, id] of askedFor(task)) {
    if (typeof id !== 'string') continue;
    const found = lookup(id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Picks a task's executor: `params.executor_id`, then `schemas.method`, then the task's name when
 * it is an executor id. No match is an error naming what was asked for and what exists.
 */
export function selectExecutor(
  task: Selectable,
  lookup: (id: string) => RegisteredExecutor | undefined,
  registered: () => string[],
): RegisteredExecutor {
  const found = findExecutor(task, lookup);
  if (found) return found;
  const asked = askedFor(task);
  const tried = asked.flatMap(([where, id]) => (typeof id === 'string' ? [`${where} '${id}'`] : []));
  const ids = registered().sort();
  throw new ApflowError('APF_NOT_FOUND', {
    message: `No executor for task '${task.name}': asked for ${tried.join(', ')}; registered executors: ${ids.length ? ids.join(', ') : 'none'}`,
  });
}
