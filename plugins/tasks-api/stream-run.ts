import { ApflowError, type PluginApp, type RpcContext } from 'apflow';
import { executeToFollow } from './execute-to-follow.ts';

/**
 * Starts the tree of `taskId` and answers the request with its events as Server-Sent Events
 * (`use_streaming: true`): first the JSON-RPC envelope that `envelope` makes, then every event of
 * this run, ending with `final` and `stream_end` (reference/original-apflow.md §6.1). Returns the
 * JSON answer instead when the tree is already running.
 */
export async function streamRun(
  app: PluginApp,
  ctx: RpcContext,
  taskId: string,
  envelope: (ids: { root_task_id: string; task_id: string }) => Record<string, unknown>,
  /** Called once the run has started, with its root and the seq its events follow (webhook callbacks). */
  started?: (run: { rootId: string; after: number }) => void,
  /** Run in demo mode (`use_demo`). */
  demo = false,
): Promise<unknown> {
  const sse = app.service('sse');
  if (!sse)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'use_streaming needs the sse plugin, which is disabled on this server',
    });
  if (!ctx.reply || ctx.batch)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'use_streaming is only available on a single HTTP request (not in a batch or over WebSocket)',
    });
  const run = await executeToFollow(app, taskId, ctx.request, demo);
  if ('already_running' in run) return run.already_running;
  started?.(run);
  const first = { jsonrpc: '2.0', id: ctx.id, result: envelope({ root_task_id: run.rootId, task_id: taskId }) };
  // Events of this run only: the log may hold earlier runs of the same tree.
  await sse.streamTree(ctx.reply, { rootId: run.rootId, after: run.after, first });
  return undefined;
}
