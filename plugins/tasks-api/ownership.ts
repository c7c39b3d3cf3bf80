import {
  ApflowError,
  checkChange,
  mayChange,
  type PluginApp,
  type Principal,
  type TaskRow,
  type TaskTreeJson,
} from 'apflow';
import { loadTask } from './read-methods.ts';

/**
 * Loads a task the caller may change (update, delete): an unknown or someone else's task is not
 * found (-32004); an ownerless one (the examples) is read-only to non-administrators while
 * authentication is on (-32003, the message says to copy it).
 */
export async function loadForChange(app: PluginApp, id: string, principal: Principal | undefined): Promise<TaskRow> {
  const task = await loadTask(app, id, principal);
  checkChange(principal, task.id, task.user_id);
  return task;
}

/**
 * Who owns a copy the caller makes: the `user_id` they asked for (an administrator may name
 * anyone, or null for nobody; a user only themselves), else the caller while authentication is
 * on (a copy always belongs to who made it), else the original's owner (authentication off).
 */
export function copyOwner(
  principal: Principal | undefined,
  asked: string | null | undefined,
): string | null | undefined {
  if (asked !== undefined) {
    if (!mayChange(principal, asked))
      throw new ApflowError('APF_FORBIDDEN', { message: 'Permission denied: you can only copy tasks for yourself' });
    return asked;
  }
  return principal?.user_id;
}

/** The task a run of `taskId` runs, and the task asked for when that is a copy of it. */
export interface RunTarget {
  taskId: string;
  originalTaskId?: string;
}

/**
 * What `tasks.execute` of a stored task runs: the task itself when the caller may change it;
 * for an ownerless task and a non-administrator (authentication on) a fresh copy of its whole
 * tree owned by the caller, and in it the copy of the task (so one user can never run what
 * another changed, nor read another's run of a shared tree).
 */
export async function runTarget(app: PluginApp, taskId: string, principal: Principal | undefined): Promise<RunTarget> {
  const task = await loadTask(app, taskId, principal);
  if (mayChange(principal, task.user_id)) return { taskId: task.id };
  const copy = await app.engine.copy(task.root_id, { copy_mode: 'full', user_id: principal?.user_id });
  // A saved copy (the default) answers the tree; only `save: false` answers a tasks array.
  const copied = 'saved' in copy ? undefined : findCopyOf(copy, task.id);
  if (!copied)
    throw new ApflowError('APF_INTERNAL', { message: `the copy of tree ${task.root_id} lacks task ${task.id}` });
  return { taskId: copied, originalTaskId: task.id };
}

function findCopyOf(tree: TaskTreeJson, originalId: string): string | undefined {
  const stack = [tree];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.original_task_id === originalId) return node.id;
    for (const child of node.children ?? []) stack.push(child); // no spread: a node may have 100k children
  }
  return undefined;
}
