import { ApflowError, isRecord } from 'apflow';
import { ID, rpcError, type Remote } from './apflow-api-client.ts';
import { sseFrames, type SseFrame } from './apflow-api-sse.ts';

/** A run begun on the remote; its start's event stream stays open until `close`. */
export interface RemoteRun {
  /** The remote tree's root. */
  rootId: string;
  /** The remote task that was executed (the root, unless `params.task_id` named another). */
  taskId: string;
  /** The rest of the start's event stream: this run's events, then `final` and `stream_end`. */
  frames: AsyncGenerator<SseFrame>;
  /** Closes the start's stream (the remote run goes on). */
  close(): void;
}

/**
 * Begins a run with `method` (`tasks.execute` or `execute_task_tree`) asking for a stream, the
 * one answer of an apflow server that does not wait for the run's end, and reads its first frame
 * (the JSON-RPC envelope naming the run). Bounded by `limitS` seconds, not by the task's signal:
 * a start cut short could leave a run nobody knows the id of, so nobody could cancel it.
 */
export async function startRun(remote: Remote, method: string, params: unknown, limitS: number): Promise<RemoteRun> {
  const body = Array.isArray(params) ? { tasks: params } : isRecord(params) ? params : {};
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('start timed out')), limitS * 1000);
  const close = () => {
    clearTimeout(timer);
    controller.abort(new Error('closed'));
  };
  try {
    const response = await remote.post(method, { ...body, use_streaming: true }, controller.signal);
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const result = await remote.answer(response, method);
      const already = isRecord(result) && result.status === 'already_running';
      throw new ApflowError('APF_UNAVAILABLE', {
        message: already
          ? `${ID}: the remote tree ${String(result.root_task_id)} is already running on ${remote.base}; run it again once it has ended`
          : `${ID}: ${method} on ${remote.base} did not answer with an event stream (is its sse plugin on?)`,
      });
    }
    if (!response.body) throw new ApflowError('APF_UNAVAILABLE', { message: `${ID}: ${method} answered no body` });
    const frames = sseFrames(response.body);
    for (;;) {
      const next = await frames.next();
      if (next.done)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: the stream of ${method} on ${remote.base} ended before the run started`,
        });
      const envelope = parse(next.value.data);
      if (isRecord(envelope.error)) throw rpcError(envelope.error, `${method} on ${remote.base}`);
      const result = isRecord(envelope.result) ? envelope.result : undefined;
      if (!result) continue;
      const rootId = result.root_task_id;
      if (typeof rootId !== 'string')
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: ${method} on ${remote.base} started a run without naming it (no root_task_id)`,
        });
      clearTimeout(timer);
      return { rootId, taskId: typeof result.task_id === 'string' ? result.task_id : rootId, frames, close };
    }
  } catch (error) {
    close();
    if (controller.signal.aborted && !(error instanceof ApflowError))
      throw new ApflowError('APF_UNAVAILABLE', {
        message: `${ID}: ${method} on ${remote.base} did not start a run within ${limitS}s`,
      });
    throw error;
  }
}

/** A frame's JSON data as an object ({} when it is not one). */
export function parse(data: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(data);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}
