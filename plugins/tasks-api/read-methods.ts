import {
  ApflowError,
  buildTrees,
  TASK_STATUSES,
  toTaskJson,
  type PluginApp,
  type Principal,
  type TaskRow,
} from 'apflow';
import { ChildrenParams, CountParams, DetailParams, ListParams, TaskIdParams, TreeParams } from './params.ts';
import { listingUser, mayAccess } from './permissions.ts';
import { treeWithUsage, withTreeUsage, withUsage } from './usage-methods.ts';

const notFound = (id: string) => new ApflowError('APF_NOT_FOUND', { message: `Task ${id} not found` });

/** tasks.get, tasks.detail, tasks.tree, tasks.list, tasks.children, tasks.count. */
export function registerReadMethods(app: PluginApp): void {
  const { tasks } = app;

  // get and detail answer alike: the task, or null for an unknown id (as the original). A root
  // also carries its tree's tasks per status: its own status alone hides failed tasks under it.
  const oneTask = async (id: string, principal: Principal | undefined) => {
    const row = await tasks.visible(id, principal);
    if (!row) return null;
    const json = row.parent_id === null ? { ...toTaskJson(row), counts: await tasks.counts(row.id) } : toTaskJson(row);
    return withTreeUsage(app, row, json);
  };
  app.rpc.method('/tasks', 'tasks.get', {
    params: TaskIdParams,
    description: 'One task (null when unknown)',
    handler: (params, ctx) =>
      oneTask(
        requiredId(params.task_id ?? params.id, "Task ID is required. Please provide 'task_id' or 'id' parameter."),
        ctx.principal,
      ),
  });
  app.rpc.method('/tasks', 'tasks.detail', {
    params: DetailParams,
    description: 'One task (null when unknown)',
    handler: (params, ctx) => oneTask(params.task_id, ctx.principal),
  });

  app.rpc.method('/tasks', 'tasks.tree', {
    params: TreeParams,
    description: 'The whole tree a task belongs to, nested from its root',
    async handler(params, ctx) {
      const id = requiredId(
        params.task_id ?? params.root_id,
        "Invalid params for tasks.tree:\n- params.task_id: is required (or 'root_id')",
      );
      const row = await loadTask(app, id, ctx.principal);
      const rows = await tasks.tree(row.root_id);
      const tree = buildTrees(rows)[0];
      const root = rows.find((one) => one.id === row.root_id);
      return tree && root ? treeWithUsage(app, root, tree) : tree;
    },
  });

  app.rpc.method('/tasks', 'tasks.list', {
    params: ListParams,
    description: 'Tasks, newest first (roots only unless root_only is false)',
    async handler(params, ctx) {
      const user = listingUser(ctx.principal, params.user_id, 'list');
      const rows = await tasks.list({ ...params, user_id: user });
      return withUsage(
        app,
        rows.filter((row) => mayAccess(ctx.principal, row.user_id)),
      );
    },
  });

  app.rpc.method('/tasks', 'tasks.children', {
    params: ChildrenParams,
    description: 'The direct children of a task, by priority',
    async handler(params, ctx) {
      const id = params.parent_id ?? params.task_id;
      if (!id)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: "Invalid params for tasks.children:\n- params.parent_id: is required (or 'task_id')",
        });
      const parent = await tasks.get(id);
      if (!parent || !mayAccess(ctx.principal, parent.user_id))
        throw new ApflowError('APF_NOT_FOUND', { message: `Parent task ${id} not found` });
      return (await tasks.children(id)).map(toTaskJson);
    },
  });

  app.rpc.method('/tasks', 'tasks.count', {
    params: CountParams,
    description: 'How many tasks there are, by status',
    async handler(params, ctx) {
      const user = listingUser(ctx.principal, params.user_id, 'count');
      const byStatus = await tasks.count({ user_id: user, root_only: params.root_only ?? false });
      const statuses = TASK_STATUSES;
      const counts = Object.fromEntries(statuses.map((status) => [status, byStatus[status] ?? 0]));
      const total = statuses.reduce((sum, status) => sum + (counts[status] as number), 0);
      return user === undefined ? { total, ...counts } : { total, ...counts, user_id: user };
    },
  });
}

/** Loads a task the caller may act on, or fails with the not-found error (also for someone else's). */
export async function loadTask(app: PluginApp, id: string, principal: Principal | undefined): Promise<TaskRow> {
  const row = await app.tasks.visible(id, principal);
  if (!row) throw notFound(id);
  return row;
}

/** The id a method needs, or -32602 with `message` when the caller gave none. */
export function requiredId(id: string | undefined, message: string): string {
  if (!id) throw new ApflowError('APF_INVALID_PARAMS', { message });
  return id;
}
