import { ApflowError, toTaskJson, type PluginApp, type TaskRow } from 'apflow';
import { CopyParams, CreateParams, idList, TaskIdParams, UpdateParams } from './params.ts';
import { loadTask, requiredId } from './read-methods.ts';
import { planUpdate } from './update-rules.ts';
import { createFor } from './run-methods.ts';
import { idempotent, withoutKey } from './idempotent.ts';
import { copyOwner, loadForChange } from './ownership.ts';

/** tasks.create, tasks.update, tasks.delete, tasks.copy. */
export function registerWriteMethods(app: PluginApp): void {
  app.rpc.method('/tasks', 'tasks.create', {
    params: CreateParams,
    description: 'Creates a task tree (does not run it)',
    async handler(params, ctx) {
      const tasks = Array.isArray(params) ? params : Array.isArray(params.tasks) ? params.tasks : withoutKey(params);
      return idempotent(app, ctx, params, () => createFor(app, tasks, ctx));
    },
  });

  app.rpc.method('/tasks', 'tasks.update', {
    params: UpdateParams,
    description: "Changes a task's fields (not its parent or owner)",
    async handler(params, ctx) {
      const task = await loadForChange(app, params.task_id, ctx.principal);
      await refuseWhileRunning(app, task, 'updated');
      const { set, errors } = planUpdate(task, await app.tasks.tree(task.root_id), params);
      if (errors.length)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `Update failed:\n${errors.map((e) => `- ${e}`).join('\n')}`,
        });
      const changes = [{ id: task.id, set: { ...set, updated_at: new Date().toISOString() } }];
      // Checked again with the write: a run may have begun since the check above.
      if (Object.keys(set).length && !(await app.tasks.update(changes, { unlessRunning: task.root_id })))
        throw whileRunning(task, 'updated');
      // Loaded (and changed) just above.
      return toTaskJson((await app.tasks.get(task.id)) as TaskRow);
    },
  });

  app.rpc.method('/tasks', 'tasks.delete', {
    params: TaskIdParams,
    description: 'Deletes a pending task and its pending subtree, when nothing depends on it',
    async handler(params, ctx) {
      const id = requiredId(
        params.task_id ?? params.id,
        'Invalid params for tasks.delete:\n- params.task_id: is required',
      );
      const task = await loadForChange(app, id, ctx.principal);
      const tree = await app.tasks.tree(task.root_id);
      const subtree = descendants(tree, task.id);
      const ids = new Set([task.id, ...subtree.map((row) => row.id)]);
      const parts: string[] = [];
      const busy = subtree.filter((row) => row.status !== 'pending');
      if (busy.length)
        parts.push(
          `task has ${busy.length} non-pending children: [${busy.map((row) => `${row.id}: ${row.status}`).join(', ')}]`,
        );
      if (task.status !== 'pending') parts.push(`task status is '${task.status}' (must be 'pending')`);
      const dependents = tree.filter(
        (row) => !ids.has(row.id) && (row.dependencies ?? []).some((dep) => ids.has(dep.id)),
      );
      if (dependents.length)
        parts.push(`${dependents.length} tasks depend on this task: [${dependents.map((row) => row.id).join(', ')}]`);
      // A pending task of a running tree is still in the engine's plan; removing it under the engine would lose writes.
      if (await treeRunning(app, task)) parts.push('its task tree is running');
      if (parts.length) throw new ApflowError('APF_CONFLICT', { message: `Cannot delete task: ${parts.join('; ')}` });
      const parent = task.parent_id ? tree.find((row) => row.id === task.parent_id) : undefined;
      const orphaned = parent && !tree.some((row) => row.parent_id === parent.id && !ids.has(row.id));
      const removed = await app.tasks.remove(
        [...ids],
        orphaned && parent
          ? [{ id: parent.id, set: { has_children: false, updated_at: new Date().toISOString() } }]
          : [],
        { unlessRunning: task.root_id },
      );
      if (!removed) throw new ApflowError('APF_CONFLICT', { message: 'Cannot delete task: its task tree is running' });
      return { success: true, task_id: task.id, deleted_count: ids.size, children_deleted: ids.size - 1 };
    },
  });

  app.rpc.method('/tasks', 'tasks.copy', {
    params: CopyParams,
    description:
      "Copies a task tree (minimal, full or custom), saved or returned as a tasks array; with authentication on the copy is the caller's",
    async handler(params, ctx) {
      await loadTask(app, params.task_id, ctx.principal);
      const { task_id: taskId, custom_task_ids: custom, user_id: asked, ...options } = params;
      const owner = copyOwner(ctx.principal, asked);
      // copy_mode is any string here: the engine checks it, with its own message.
      return app.engine.copy(taskId, {
        ...options,
        ...(custom === undefined ? {} : { custom_task_ids: idList(custom, 'tasks.copy', 'custom_task_ids') }),
        ...(owner === undefined ? {} : { user_id: owner }),
      } as Parameters<typeof app.engine.copy>[1]);
    },
  });
}

/** Refuses to change a tree while an engine runs it (its in-memory state would disagree). */
export async function refuseWhileRunning(app: PluginApp, task: TaskRow, what: string): Promise<void> {
  if (await treeRunning(app, task)) throw whileRunning(task, what);
}

const whileRunning = (task: TaskRow, what: string) =>
  new ApflowError('APF_CONFLICT', { message: `Task ${task.id} cannot be ${what} while its tree is running` });

/** Whether the tree of `task` runs now, on this server or another one of the same database. */
async function treeRunning(app: PluginApp, task: TaskRow): Promise<boolean> {
  const root = task.id === task.root_id ? task : await app.tasks.get(task.root_id);
  return app.engine.isRunning(task.root_id) || root?.run_state === 'running';
}

function descendants(tree: readonly TaskRow[], id: string): TaskRow[] {
  const out: TaskRow[] = [];
  const stack = [id];
  for (let parent = stack.pop(); parent !== undefined; parent = stack.pop()) {
    for (const row of tree) {
      if (row.parent_id !== parent) continue;
      out.push(row);
      stack.push(row.id);
    }
  }
  return out;
}
