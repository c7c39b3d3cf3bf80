import type { PluginApp, TaskEvent, TaskJson, TaskTreeJson } from 'apflow';
import { callTasks, FailedAnswer, ToolFailure, type McpCaller } from './caller.ts';
import { createRunProgress, type ProgressSink } from './run-progress.ts';

/** Arguments of `execute_task`. */
export interface ExecuteArgs {
  task_id?: string;
  tasks?: unknown[];
  wait?: boolean;
  copy_execution?: boolean;
  use_demo?: boolean;
}

/** What a run tool call can use of its MCP request. */
export interface RunRequest {
  /** Aborted when the client cancels the request (`notifications/cancelled`). */
  signal: AbortSignal;
  /** Present when the client asked for progress (a `progressToken`). */
  progress?: ProgressSink;
}

/**
 * `execute_task`: creates the tree (`tasks`) or picks the stored task (`task_id`, a copy of it
 * for an ownerless tree or with `copy_execution`), runs it through `tasks.execute`, and — with
 * `wait` (the default) — answers the outcome with each task's status (a tool error unless it
 * completed). The run's events become progress notifications; a cancelled request cancels the tree.
 */
export async function executeTask(app: PluginApp, args: ExecuteArgs, caller: McpCaller, request: RunRequest): Promise<Record<string, unknown> | FailedAnswer> {
  const target = await targetOf(app, args, caller);
  const row = await app.tasks.get(target);
  const root = row && (row.id === row.root_id ? row : await app.tasks.get(row.root_id));
  if (!row || !root) throw new ToolFailure(`Task ${target} not found`);
  const tree = (await callTasks(app, 'tasks.tree', { task_id: root.id }, caller)) as TaskTreeJson;
  const names = new Map(flatten(tree).map((task) => [task.id, task.name]));

  let started: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (started = resolve));
  const onEvent = request.progress ? createRunProgress(request.progress, names, row.id === root.id ? names.size : undefined) : undefined;
  // Events after the root's seq as read before the start are this run's own.
  const following = app.engine.follow(root.id, root.event_seq, (event: TaskEvent) => {
    started();
    onEvent?.(event);
  });
  // The task asked for (the whole tree for a root): other pending tasks of its tree stay as they are.
  const cancel = () => void callTasks(app, 'tasks.cancel', { task_ids: [target], error_message: 'Cancelled by the MCP client' }, caller).catch(() => undefined);
  request.signal.addEventListener('abort', cancel, { once: true });
  const run = callTasks(app, 'tasks.execute', { task_id: target, ...(args.use_demo ? { use_demo: true } : {}) }, caller);
  try {
    if (args.wait === false) {
      const early = await Promise.race([run, first.then(() => undefined)]);
      if (early) checkStarted(early as Record<string, unknown>, target);
      void run.catch((error: unknown) => caller.log.warn({ err: error, task_id: target }, 'an MCP run failed to start'));
      return { root_task_id: root.id, task_id: target, status: 'started', message: `Started; read task://${root.id} or call get_task_status to follow it` };
    }
    const outcome = checkStarted((await run) as Record<string, unknown>, target);
    const after = (await callTasks(app, 'tasks.tree', { task_id: root.id }, caller)) as TaskTreeJson;
    const { success: _success, protocol: _protocol, ...answer } = outcome;
    const full = { ...answer, tasks: flatten(after).map((task) => ({ id: task.id, name: task.name, status: task.status, ...(task.error ? { error: task.error } : {}) })) };
    return answer.status === 'completed' ? full : new FailedAnswer(full);
  } finally {
    request.signal.removeEventListener('abort', cancel);
    if (args.wait !== false) following.stop();
    else void run.finally(() => following.stop());
  }
}

/** The task to run: a new tree, the stored task, or a copy of it. */
async function targetOf(app: PluginApp, args: ExecuteArgs, caller: McpCaller): Promise<string> {
  if (args.tasks && args.task_id) throw new ToolFailure('Give either task_id or tasks, not both');
  if (args.tasks) return ((await callTasks(app, 'tasks.create', { tasks: args.tasks }, caller)) as TaskTreeJson).id;
  if (!args.task_id) throw new ToolFailure('Either task_id or tasks is required');
  const tasksApi = app.service('tasks-api');
  if (!tasksApi) throw new ToolFailure('execute_task is not available: the tasks-api plugin is disabled on this server');
  const { taskId } = await tasksApi.runTarget(args.task_id, caller.principal).catch((error: Error) => {
    throw new ToolFailure(error.message);
  });
  if (!args.copy_execution) return taskId;
  return ((await callTasks(app, 'tasks.copy', { task_id: taskId, copy_mode: 'minimal' }, caller)) as TaskJson).id;
}

/** The answer of `tasks.execute`, unless it says the tree was already running. */
function checkStarted(answer: Record<string, unknown>, target: string): Record<string, unknown> {
  if (answer.status === 'already_running') throw new ToolFailure(`Task ${target} is already running (root ${String(answer.root_task_id)})`);
  return answer;
}

/** Every task of a nested tree, root first. */
export function flatten(tree: TaskTreeJson): TaskTreeJson[] {
  const all: TaskTreeJson[] = [];
  for (const stack = [tree]; stack.length > 0; ) {
    const node = stack.shift() as TaskTreeJson;
    all.push(node);
    stack.unshift(...(node.children ?? []));
  }
  return all;
}
