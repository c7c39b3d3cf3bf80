import { definePlugin, version } from 'apflow';
import { registerExecuteTaskTree } from './execute-task-tree.ts';
import { registerGenerateMethod } from './generate-method.ts';
import { registerReadMethods } from './read-methods.ts';
import { registerRestRoutes } from './rest-routes.ts';
import { registerRunMethods } from './run-methods.ts';
import { registerWriteMethods } from './write-methods.ts';

/**
 * The tasks API: JSON-RPC `tasks.*` on `POST /tasks` (the original's methods, params and
 * answers), `execute_task_tree` on `POST /`, and the guide's REST views.
 */
export default definePlugin({
  name: 'tasks-api',
  version,
  setup(app) {
    registerReadMethods(app);
    registerWriteMethods(app);
    registerRunMethods(app);
    registerExecuteTaskTree(app);
    registerGenerateMethod(app);
    registerRestRoutes(app);
  },
});
