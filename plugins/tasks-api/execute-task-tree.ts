import { ApflowError, type PluginApp } from 'apflow';
import { ExecuteTreeParams } from './params.ts';
import { createFor, runToEnd } from './run-methods.ts';

/**
 * `execute_task_tree` on `POST /` (the guide's A2A example): creates the tree, runs it, and
 * answers with the root's status, progress, result and id.
 */
export function registerExecuteTaskTree(app: PluginApp): void {
  app.rpc.method('/', 'execute_task_tree', {
    params: ExecuteTreeParams,
    description: 'Creates and runs a task tree; answers when it ends',
    async handler(params, ctx) {
      if (params.use_streaming) {
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'use_streaming needs the streaming plugins, which this server does not have yet' });
      }
      const tree = await createFor(app, params.tasks, ctx.principal);
      const outcome = await runToEnd(app, tree.id);
      if ('already_running' in outcome) return outcome.already_running;
      return {
        status: outcome.status,
        progress: outcome.progress,
        root_task_id: outcome.root_task_id,
        ...(outcome.result === undefined ? {} : { result: outcome.result }),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
      };
    },
  });
}
