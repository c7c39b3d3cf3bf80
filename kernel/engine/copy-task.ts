import { ApflowError } from '../errors/apflow-error.ts';
import { parseCopyOptions, type CopyOptions } from '../tasks/copy-options.ts';
import { planCopy, toCopiedTasks, type CopiedTask } from '../tasks/copy-tree.ts';
import { buildTrees, type TaskTreeJson } from '../tasks/task-record.ts';
import type { TaskRepository } from './task-repository.ts';

export type { CopyOptions } from '../tasks/copy-options.ts';
export type { CopiedTask } from '../tasks/copy-tree.ts';

/** What a copy returns: the stored tree, nested; or, with `save: false`, the tasks array. */
export type CopyResult = TaskTreeJson | { tasks: CopiedTask[]; saved: false };

/**
 * Copies the tree around `taskId` as the original does (reference/original-apflow.md §2.4):
 * fresh ids, `original_task_id` set, references remapped; saved (originals get `has_copy`,
 * in the same transaction) or returned as a tasks array. The planning is `tasks/copy-tree.ts`.
 */
export async function copyTask(repo: TaskRepository, taskId: string, options: CopyOptions = {}): Promise<CopyResult> {
  const parsed = parseCopyOptions(options);
  const task = await repo.get(taskId);
  if (!task) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  const now = new Date().toISOString();
  const { rows, originalIds } = planCopy(await repo.tree(task.root_id), taskId, parsed, now);
  if (!parsed.save) return { tasks: toCopiedTasks(rows), saved: false };
  await repo.insertCopy(rows, originalIds, now);
  return buildTrees(rows)[0] as TaskTreeJson;
}
