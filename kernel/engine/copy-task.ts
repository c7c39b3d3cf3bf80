import { ApflowError } from '../errors/apflow-error.ts';
import type { TaskJson, TaskTreeJson } from '../tasks/task-record.ts';
import type { TaskRepository } from './task-repository.ts';

/** Options of `tasks.copy` (reference/original-apflow.md §2.4). */
export interface CopyOptions {
  /** `minimal` (default), `full` or `custom`. */
  copy_mode?: 'minimal' | 'full' | 'custom';
  /** Also gather each direct child's subtree (minimal mode). */
  children?: boolean;
  /** custom mode: the ids to copy (required there). */
  custom_task_ids?: string[];
  /** custom mode: also copy the descendants of those ids. */
  custom_include_children?: boolean;
  /** Fields to reset on the copies, overriding the defaults. */
  reset_fields?: Record<string, unknown> | string[];
  /** false: store nothing and return the tasks array (usable by tasks.create). Default true. */
  save?: boolean;
}

/**
 * Copies the tree around `taskId` as the original does: fresh ids, `original_task_id` set,
 * references remapped; saved (originals get `has_copy`) or returned as a tasks array.
 */
export async function copyTask(
  repo: TaskRepository,
  taskId: string,
  options: CopyOptions = {},
): Promise<TaskTreeJson | { tasks: TaskJson[]; saved: false }> {
  void repo;
  void options;
  throw new ApflowError('APF_INTERNAL', { message: `copy of ${taskId} is not built yet` });
}
