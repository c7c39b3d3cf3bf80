import type { PluginApp } from 'apflow';
import { streamRun } from './stream-run.ts';
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
      const tree = await createFor(app, params.tasks, ctx);
      if (params.use_streaming) {
        return streamRun(app, ctx, tree.id, (ids) => ({
          ...ids,
          status: 'started',
          streaming: true,
          message: 'Task tree execution started with streaming',
        }));
      }
      const outcome = await runToEnd(app, tree.id, ctx);
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
