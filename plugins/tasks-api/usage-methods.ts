import {
  ApflowError,
  sumUsage,
  toTaskJson,
  type PluginApp,
  type TaskJson,
  type TaskRow,
  type TaskTreeJson,
} from 'apflow';
import { UsageParams } from './params.ts';
import { listingUser } from './permissions.ts';

/**
 * The tasks of `rows` as answered: `token_usage` (the task's own LLM calls) on each task that has
 * some, `tree_token_usage` (every task's of its tree) on each root that has some, and
 * `tree_started_at` on each root with children that ran (a root runs after its children: its own
 * `started_at` is late); tasks without keep the original's keys only. The ledger is read only for
 * the rows flagged `has_usage`.
 */
export async function withUsage(app: PluginApp, rows: readonly TaskRow[]): Promise<TaskJson[]> {
  const flagged = rows.filter((row) => row.has_usage);
  const roots = flagged.filter((row) => row.parent_id === null).map((row) => row.id);
  const ran = rows.filter((row) => row.parent_id === null && row.has_children && row.started_at !== null);
  const [own, trees, starts] = await Promise.all([
    app.usage.ofTasks(flagged.map((row) => row.id)),
    app.usage.ofTrees(roots),
    app.tasks.treeStarts(ran.map((row) => row.id)),
  ]);
  return rows.map((row) => {
    const token = own.get(row.id);
    const tree = trees.get(row.id);
    const started = starts.get(row.id);
    return {
      ...toTaskJson(row),
      ...(token ? { token_usage: token } : {}),
      ...(tree ? { tree_token_usage: tree } : {}),
      ...(started ? { tree_started_at: started } : {}),
    };
  });
}

/** `task` (the answer of tasks.get for `row`) with its usage: a root's tree totals come from the same one query. */
export async function withTreeUsage<T extends TaskJson>(app: PluginApp, row: TaskRow, task: T): Promise<T> {
  if (!row.has_usage) return task;
  if (row.parent_id !== null) {
    const token = (await app.usage.ofTasks([row.id])).get(row.id);
    return token ? { ...task, token_usage: token } : task;
  }
  const byTask = await app.usage.ofTreeTasks(row.id);
  if (byTask.size === 0) return task;
  const token = byTask.get(row.id);
  return { ...task, ...(token ? { token_usage: token } : {}), tree_token_usage: sumUsage(byTask.values()) };
}

/** Each node of the tree of `root` with its own `token_usage` when it has some (one query for the tree). */
export async function treeWithUsage(app: PluginApp, root: TaskRow, tree: TaskTreeJson): Promise<TaskTreeJson> {
  if (!root.has_usage) return tree;
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
      const until = dayOf(params.until, 'until');
      // Without a start, the last 31 days (to `until`): the ledger keeps every call.
      const since = dayOf(params.since, 'since') ?? daysBefore(until, 30);
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

/** The UTC day `days` before `day` (default: today). */
function daysBefore(day: string | undefined, days: number): string {
  const end = day ? new Date(`${day}T00:00:00Z`) : new Date();
  return new Date(end.getTime() - days * 86_400_000).toISOString().slice(0, 10);
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
