import type { PluginApp, TaskJson, TaskTreeJson } from 'apflow';
import { callTasks, FailedAnswer, ToolFailure, type McpCaller } from './caller.ts';
import { createInputAsker, type Elicit } from './elicit-input.ts';
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
  /** Present when the client declared the `elicitation` capability (form mode): asks it a task's question. */
  elicit?: Elicit;
}

/**
 * `execute_task`: creates the tree (`tasks`) or picks the stored task (`task_id`, a copy of it
 * for an ownerless tree or with `copy_execution`, as `tasks.execute` picks), runs it, and — with
 * `wait` (the default) — answers the outcome with each task's status (a tool error unless it
 * completed). The run's events become progress notifications; a task's question becomes an
 * elicitation when the client takes them (see elicit-input.ts); a cancelled request cancels the tree.
 */
export async function executeTask(
  app: PluginApp,
  args: ExecuteArgs,
  caller: McpCaller,
  request: RunRequest,
): Promise<Record<string, unknown> | FailedAnswer> {
  const target = await targetOf(app, args, caller);
  // Cancelled before it started: nothing to run.
  if (request.signal.aborted) throw new ToolFailure('Cancelled by the MCP client before the run started');
  const run = await app.engine.execute(target, { request: caller.request, demo: args.use_demo === true });
  if (!run.started) throw new ToolFailure(`Task ${target} is already running`);
  const rootId = run.root_task_id;
  if (args.wait === false) {
    return {
      root_task_id: rootId,
      task_id: target,
      status: 'started',
      message: `Started; read task://${rootId} or call get_task_status to follow it`,
    };
  }
  // Ends with the call, or at the client's cancel: the forms still open are then withdrawn.
  const callOver = new AbortController();
  // The task asked for (the whole tree for a root): other pending tasks of its tree stay as they are.
  const cancel = () => {
    callOver.abort();
    void callTasks(
      app,
      'tasks.cancel',
      { task_ids: [target], error_message: 'Cancelled by the MCP client' },
      caller,
    ).catch(() => undefined);
  };
  // At once: a cancel may come while the run's tree is still being read.
  if (request.signal.aborted) cancel();
  else request.signal.addEventListener('abort', cancel, { once: true });
  let following: { stop(): void } | undefined;
  let asker: ReturnType<typeof createInputAsker> | undefined;
  try {
    if (request.progress || request.elicit) {
      const tree = (await callTasks(app, 'tasks.tree', { task_id: rootId }, caller)) as TaskTreeJson;
      const names = new Map(flatten(tree).map((task) => [task.id, task.name]));
      const progress = request.progress
        ? createRunProgress(request.progress, names, target === rootId ? names.size : undefined)
        : undefined;
      const asking = createInputAsker(app, caller, {
        ...(request.elicit ? { elicit: request.elicit } : {}),
        note: (message) => progress?.note(message),
        nameOf: (taskId) => names.get(taskId) ?? taskId,
        signal: callOver.signal,
      });
      asker = asking;
      // From the run's own first event: never an earlier run's events of the same tree.
      following = app.engine.follow(rootId, run.first_seq - 1, (event) => {
        progress?.onEvent(event);
        asking.onEvent(event);
      });
    }
    const outcome = await run.done;
    const after = (await callTasks(app, 'tasks.tree', { task_id: rootId }, caller)) as TaskTreeJson;
    const elicitations = asker?.outcomes() ?? [];
    const answer = {
      ...outcome,
      tasks: flatten(after).map((task) => ({
        id: task.id,
        name: task.name,
        status: task.status,
        ...(task.error ? { error: task.error } : {}),
      })),
      ...(elicitations.length > 0 ? { elicitations: [...elicitations] } : {}),
    };
    return outcome.status === 'completed' ? answer : new FailedAnswer({ ...answer });
  } finally {
    request.signal.removeEventListener('abort', cancel);
    following?.stop();
    callOver.abort();
  }
}

/** The task to run: a new tree, the stored task, or a copy of it. */
async function targetOf(app: PluginApp, args: ExecuteArgs, caller: McpCaller): Promise<string> {
  if (args.tasks && args.task_id) throw new ToolFailure('Give either task_id or tasks, not both');
  if (args.tasks) return ((await callTasks(app, 'tasks.create', { tasks: args.tasks }, caller)) as TaskTreeJson).id;
  if (!args.task_id) throw new ToolFailure('Either task_id or tasks is required');
  const tasksApi = app.service('tasks-api');
  if (!tasksApi)
    throw new ToolFailure('execute_task is not available: the tasks-api plugin is disabled on this server');
  const { taskId } = await tasksApi.runTarget(args.task_id, caller.principal).catch((error: Error) => {
    throw new ToolFailure(error.message);
  });
  if (!args.copy_execution) return taskId;
  return ((await callTasks(app, 'tasks.copy', { task_id: taskId, copy_mode: 'minimal' }, caller)) as TaskJson).id;
}

/** Every task of a nested tree, root first. */
export function flatten(tree: TaskTreeJson): TaskTreeJson[] {
  const all: TaskTreeJson[] = [];
  for (const stack = [tree]; stack.length > 0;) {
    const node = stack.shift() as TaskTreeJson;
    all.push(node);
    stack.unshift(...(node.children ?? []));
  }
  return all;
}
