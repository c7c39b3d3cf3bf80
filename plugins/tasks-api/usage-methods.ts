import { ApflowError, sumUsage, type PluginApp, type TaskJson, type TaskTreeJson } from 'apflow';
import { UsageParams } from './params.ts';
import { listingUser } from './permissions.ts';

/**
 * `token_usage` (the task's own LLM calls) on each task that has some, `tree_token_usage`
 * (every task's of its tree) on each root that has some, and `tree_started_at` on each root with
 * children that ran (a root runs after its children: its own `started_at` is late); tasks without
 * keep the original's keys only.
 */
export async function withUsage<T extends TaskJson>(app: PluginApp, tasks: readonly T[]): Promise<T[]> {
  const roots = tasks.filter((task) => task.parent_id === null).map((task) => task.id);
  const parents = tasks.filter((task) => task.parent_id === null && task.has_children).map((task) => task.id);
  const [own, trees, starts] = await Promise.all([
    app.usage.ofTasks(tasks.map((task) => task.id)),
    app.usage.ofTrees(roots),
    app.tasks.treeStarts(parents),
  ]);
  return tasks.map((task) => {
    const token = own.get(task.id);
    const tree = trees.get(task.id);
    const started = starts.get(task.id);
    return {
      ...task,
      ...(token ? { token_usage: token } : {}),
      ...(tree ? { tree_token_usage: tree } : {}),
      ...(started ? { tree_started_at: started } : {}),
    };
  });
}

/** One task as answered by tasks.get: a root's tree totals come from the same one query. */
export async function withTreeUsage<T extends TaskJson>(app: PluginApp, task: T): Promise<T> {
  if (task.parent_id !== null) return (await withUsage(app, [task]))[0] as T;
  const byTask = await app.usage.ofTreeTasks(task.id);
  if (byTask.size === 0) return task;
  const token = byTask.get(task.id);
  return { ...task, ...(token ? { token_usage: token } : {}), tree_token_usage: sumUsage(byTask.values()) };
}

/** Each node of a tree with its own `token_usage` when it has some (one query for the tree). */
export async function treeWithUsage(app: PluginApp, tree: TaskTreeJson): Promise<TaskTreeJson> {
  const byTask = await app.usage.ofTreeTasks(tree.id);
  if (byTask.size === 0) return tree;
  const visit = (node: TaskTreeJson): TaskTreeJson => {
    const token = byTask.get(node.id);
    const children = node.children?.map(visit);
    return { ...node, ...(token ? { token_usage: token } : {}), ...(children ? { children } : {}) };
  };
  return visit(tree);
}

/** tasks.usage: the LLM calls' tokens and costs per user and day. */
export function registerUsageMethod(app: PluginApp): void {
  app.rpc.method('/tasks', 'tasks.usage', {
    params: UsageParams,
    description: 'Tokens and costs of LLM calls per user and day (UTC), oldest first',
    handler(params, ctx) {
      const user = listingUser(ctx.principal, params.user_id, 'see the usage of');
      const since = dayOf(params.since, 'since');
      const until = dayOf(params.until, 'until');
      if (since && until && since > until)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `Invalid params for tasks.usage: since (${since}) is after until (${until})`,
        });
      return app.usage.byDay({
        ...(user === undefined ? {} : { user_id: user }),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      });
    },
  });
}

/** The UTC day of a `YYYY-MM-DD` or ISO-8601 param; APF_INVALID_PARAMS naming it when it is no time. */
function dayOf(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(time.getTime()))
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `Invalid params for tasks.usage: ${name} must be a day (YYYY-MM-DD) or an ISO-8601 time (got '${value}')`,
    });
  return time.toISOString().slice(0, 10);
}
