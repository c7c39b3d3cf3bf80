import type { PluginApp, TaskJson } from 'apflow';
import { callTasks, ToolFailure, type McpCaller } from './caller.ts';
import { executeTask, type ExecuteArgs, type RunRequest } from './run-tool.ts';
import type { ToolName } from './tool-schemas.ts';

type Args = Record<string, unknown>;

/** One MCP tool: its description, hints, and what a call does. */
interface ToolDefinition {
  title: string;
  description: string;
  /** MCP's behaviour hints (untrusted by clients, but shown to users). */
  annotations: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  call(app: PluginApp, args: Args, caller: McpCaller, request: RunRequest): Promise<unknown>;
}

const READ = { readOnlyHint: true, idempotentHint: true, openWorldHint: false };
const id = (args: Args) => args.task_id as string;

/** A stored task the caller may see, or a failure that reads like an unknown id. */
async function oneTask(app: PluginApp, taskId: string, caller: McpCaller): Promise<TaskJson> {
  const task = (await callTasks(app, 'tasks.get', { task_id: taskId }, caller)) as TaskJson | null;
  if (!task) throw new ToolFailure(`Task ${taskId} not found`, -32004);
  return task;
}

/**
 * The tools, under the Python original's names (apflow's own additions: get_task_tree,
 * copy_task, list_executors). Each goes through the tasks API with the caller's identity.
 */
export const tools: Record<ToolName, ToolDefinition> = {
  execute_task: {
    title: 'Run a task tree',
    description:
      'Runs a task tree and, by default, waits for it to end: give `tasks` (a new tree: one root, children naming parent_id) or `task_id` (a stored task; its dependencies run first). Answers the status, result and error of the task run, and the status of every task in its tree. Sends progress notifications as tasks finish when the request has a progressToken; cancelling the request cancels the tree. A task that asks for input is asked through elicitation when the client supports it (else the progress says how to answer with tasks.resume); the call waits until the tree ends. With wait: false it answers at once with the root id.',
    annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: true },
    call: (app, args, caller, request) => executeTask(app, args as ExecuteArgs, caller, request),
  },
  create_task: {
    title: 'Create a task tree',
    description:
      'Stores a task tree without running it and answers it nested from its root. Each task needs a name and schemas.method (an executor id from list_executors).',
    annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
    call: (app, args, caller) => callTasks(app, 'tasks.create', { tasks: args.tasks }, caller),
  },
  get_task: {
    title: 'Get a task',
    description: 'One task with its inputs, status, progress, result and error.',
    annotations: READ,
    call: (app, args, caller) => oneTask(app, id(args), caller),
  },
  get_task_tree: {
    title: 'Get a task tree',
    description: 'The whole tree a task belongs to, nested from its root (children under each task).',
    annotations: READ,
    call: (app, args, caller) => callTasks(app, 'tasks.tree', { task_id: id(args) }, caller),
  },
  list_tasks: {
    title: 'List tasks',
    description:
      'Tasks newest first (roots of trees unless root_only is false), filtered by status; your own tasks unless you are an administrator.',
    annotations: READ,
    call: async (app, args, caller) => ({
      tasks: await callTasks(app, 'tasks.list', { root_only: true, ...args }, caller),
    }),
  },
  get_task_status: {
    title: 'Get the status of a task',
    description: "A task's status and progress, its error if it failed, and whether its tree is running now.",
    annotations: { ...READ, idempotentHint: false },
    async call(app, args, caller) {
      const [status] = (await callTasks(app, 'tasks.running.status', { task_ids: [id(args)] }, caller)) as Record<
        string,
        unknown
      >[];
      if (!status || status.status === 'not_found') throw new ToolFailure(`Task ${id(args)} not found`, -32004);
      return status;
    },
  },
  cancel_task: {
    title: 'Cancel a task',
    description: 'Cancels a task and its unfinished descendants (running executors are stopped).',
    annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async call(app, args, caller) {
      const params = {
        task_ids: [id(args)],
        ...(args.force === undefined ? {} : { force: args.force }),
        ...(args.message === undefined ? {} : { error_message: args.message }),
      };
      const [result] = (await callTasks(app, 'tasks.cancel', params, caller)) as Record<string, unknown>[];
      if (result?.error) throw new ToolFailure(String(result.message ?? result.error));
      return result;
    },
  },
  copy_task: {
    title: 'Copy a task',
    description:
      'Copies a task (with what it depends on and its dependents, or its whole tree with copy_mode full) as new pending tasks you own, ready to run again.',
    annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
    call: (app, args, caller) => callTasks(app, 'tasks.copy', args, caller),
  },
  delete_task: {
    title: 'Delete a task',
    description: 'Deletes a task that is not running, with its children (all must be pending), and its events.',
    annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
    call: (app, args, caller) => callTasks(app, 'tasks.delete', { task_id: id(args) }, caller),
  },
  update_task: {
    title: 'Update a task',
    description:
      'Changes fields (name, inputs, params, schemas, dependencies, priority…) of a task that is not running.',
    annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    call: (app, args, caller) => callTasks(app, 'tasks.update', args, caller),
  },
  list_executors: {
    title: 'List executors',
    description:
      'The executors this server can run (the schemas.method of a task), each with its description and input schema.',
    annotations: READ,
    call: async (app) => ({
      executors: app.executors.list().map(({ definition }) => ({
        id: definition.id,
        name: definition.name ?? definition.id,
        description: definition.description ?? '',
        input_schema: definition.inputSchema ?? { type: 'object' },
      })),
    }),
  },
};
