import { ApflowError, isRecord, type NewTree, type PluginApp, type RpcContext } from 'apflow';
import { executeToFollow } from './execute-to-follow.ts';

/**
 * A streamed answer that has begun: the run to follow (its events after `after`) and the result
 * of the stream's first message. It is what an idempotency key stores for a streamed execute, so
 * a retry follows the same run again from its first event instead of starting another.
 */
export interface StreamStart {
  sse_stream: { root_task_id: string; after: number; result: Record<string, unknown> };
}

/** Whether `answer` is a {@link StreamStart} (else it is the JSON answer itself). */
function isStreamStart(answer: unknown): answer is StreamStart {
  if (!isRecord(answer) || !isRecord(answer.sse_stream)) return false;
  const { root_task_id: rootId, after, result } = answer.sse_stream;
  return typeof rootId === 'string' && typeof after === 'number' && isRecord(result);
}

/** The sse service and the reply to stream on; refuses where no stream can be answered. */
function streamable(app: PluginApp, ctx: RpcContext) {
  const sse = app.service('sse');
  if (!sse)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'use_streaming needs the sse plugin, which is disabled on this server',
    });
  if (!ctx.reply || ctx.batch)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'use_streaming is only available on a single HTTP request (not in a batch or over WebSocket)',
    });
  return { sse, reply: ctx.reply };
}

/**
 * Starts the tree of `target` (a task id, or a new tree) for a streamed answer (`use_streaming: true`): the run to follow and
 * the first message's result (what `envelope` makes), or the JSON answer for a tree already running.
 */
export async function startStream(
  app: PluginApp,
  ctx: RpcContext,
  target: string | NewTree,
  envelope: (ids: { root_task_id: string; task_id: string }) => Record<string, unknown>,
  /** Called once the run has started, with its root and the seq its events follow (webhook callbacks). */
  started?: (run: { rootId: string; after: number }) => void,
  /** Run in demo mode (`use_demo`). */
  demo = false,
): Promise<StreamStart | Record<string, unknown>> {
  streamable(app, ctx);
  const run = await executeToFollow(app, target, ctx.request, demo);
  if ('already_running' in run) return run.already_running;
  started?.(run);
  const result = envelope({ root_task_id: run.rootId, task_id: run.taskId });
  return { sse_stream: { root_task_id: run.rootId, after: run.after, result } };
}

/**
 * Answers the request with `answer`: a {@link StreamStart} as Server-Sent Events (first the
 * JSON-RPC envelope of its result, then every event of its run, ending with `final` and
 * `stream_end`: reference/original-apflow.md §6.1); any other answer is returned as it is.
 */
export async function answerStream(app: PluginApp, ctx: RpcContext, answer: unknown): Promise<unknown> {
  if (!isStreamStart(answer)) return answer;
  const { sse, reply } = streamable(app, ctx);
  const { root_task_id: rootId, after, result } = answer.sse_stream;
  // Events of this run only: the log may hold earlier runs of the same tree. A client whose
  // stream drops follows the run on from `last_event_id` (GET /tasks/{root}/events).
  const first = { jsonrpc: '2.0', id: ctx.id, result: { ...result, last_event_id: after } };
  await sse.streamTree(reply, { rootId, after, first });
  return undefined;
}
