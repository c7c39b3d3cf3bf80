import { buildTaskTree } from './build-task-tree.ts';

/**
 * Checks a tasks array as tree creation would (fields, one root, parents and dependencies that
 * exist, no cycles), without storing anything; throws the same -32602 errors. Ids need not be
 * free: a stored tree gets fresh ones where they clash.
 */
export function checkTaskTree(tasks: unknown): void {
  buildTaskTree(tasks);
}
