import { definePlugin, version, type Principal } from 'apflow';
import { registerExecuteTaskTree } from './execute-task-tree.ts';
import { runTarget, type RunTarget } from './ownership.ts';
import { registerGenerateMethod } from './generate-method.ts';
import { registerReadMethods } from './read-methods.ts';
import { registerUsageMethod } from './usage-methods.ts';
import { registerRestRoutes } from './rest-routes.ts';
import { registerResumeMethod } from './resume-method.ts';
import { registerRunMethods } from './run-methods.ts';
import { registerWriteMethods } from './write-methods.ts';

/** What the tasks API offers other transports of the same methods (MCP). */
export interface TasksApiService {
  /**
   * What a run of the stored task `taskId` by `principal` runs: the task itself, or for an
   * ownerless task and a non-administrator a fresh copy of its tree (as `tasks.execute` does).
   * An unknown or someone else's task is not found.
   */
  runTarget(taskId: string, principal: Principal | undefined): Promise<RunTarget>;
}

declare module 'apflow' {
  interface KernelServices {
    'tasks-api': TasksApiService;
  }
}

/**
 * The tasks API: JSON-RPC `tasks.*` on `POST /tasks` (the original's methods, params and
 * answers), `execute_task_tree` on `POST /`, and the guide's REST views.
 */
export default definePlugin({
  name: 'tasks-api',
  version,
  setup(app) {
    registerReadMethods(app);
    registerUsageMethod(app);
    registerWriteMethods(app);
    registerRunMethods(app);
    registerResumeMethod(app);
    registerExecuteTaskTree(app);
    registerGenerateMethod(app);
    registerRestRoutes(app);
    app.provide('tasks-api', { runTarget: (taskId, principal) => runTarget(app, taskId, principal) });
  },
});
