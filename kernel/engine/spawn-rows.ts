import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';
import { buildTaskTree } from '../tasks/build-task-tree.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { SpawnTask } from './durable-types.ts';

/** Stands for the spawner while the tasks are checked as one tree (never stored). */
const SPAWNER = '\u0000spawner';

/**
 * The rows `ctx.spawn(tasks)` adds under `spawner`, checked with `tasks.create`'s rules: tasks
 * without a `parent_id` become the spawner's children, the others hang under the task they name;
 * ids and names are references within the call (every task gets a fresh id); every task belongs
 * to the spawner's user and is marked `spawned_by` it. The tree's size limit is checked again
 * when the rows are written (other spawns may have added tasks meanwhile).
 */
export function spawnRows(spawner: TaskRow, tasks: readonly SpawnTask[], maxTreeSize: number): TaskRow[] {
  const given = new Set<string>();
  const listed = tasks.map((task, i) => {
    if (!isRecord(task))
      throw new ApflowError('APF_INVALID_PARAMS', { message: `Spawned task at index ${i} must be an object` });
    if (task.user_id !== undefined && task.user_id !== null && task.user_id !== spawner.user_id)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `Spawned task at index ${i}: a spawned task belongs to the spawner's user`,
      });
    if (typeof task.id === 'string') given.add(task.id);
    const { user_id: _user, ...rest } = task;
    return { ...rest, parent_id: task.parent_id ?? SPAWNER };
  });
  const hasIds = listed.some((task) => typeof task.id === 'string');
  // buildTaskTree wants ids on all tasks or none: the stand-in gets one only when the tasks have
  // them. It comes last, so the indexes in error messages are the caller's.
  const root = { name: SPAWNER, ...(hasIds ? { id: SPAWNER } : {}) };
  const rows = buildTaskTree([...listed, root], {
    // Every given id counts as taken: each task gets a fresh UUID, references are remapped.
    taken: new Set([...given, SPAWNER]),
    defaultUserId: spawner.user_id,
    // The stand-in is not stored: it does not count.
    maxTasks: maxTreeSize + 1,
  });
  const [stand, ...spawned] = rows as [TaskRow, ...TaskRow[]];
  return spawned.map((row) => ({
    ...row,
    parent_id: row.parent_id === stand.id ? spawner.id : row.parent_id,
    root_id: spawner.root_id,
    user_id: spawner.user_id,
    spawned_by: spawner.id,
    run_id: spawner.run_id,
    pinned_to: spawner.pinned_to,
    run_demo: spawner.run_demo,
  }));
}
