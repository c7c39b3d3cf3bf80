import type { TaskEvent } from 'apflow';
import { ApflowConnectionError } from './errors.ts';
import { cutShort, retryable, type CallOptions, type Transport } from './transport.ts';
import { sseMessages } from './sse-messages.ts';

/** Options of {@link followEvents}. */
export interface FollowOptions extends Pick<CallOptions, 'signal' | 'maxRetries' | 'headers'> {
  /** The seq of the last event already seen: only later ones come (default 0: from the log's start). */
  lastEventId?: number;
}

/**
 * The events of a task's tree from `GET /tasks/{id}/events`, in order, ending after the run's
 * `final` event. A dropped connection is opened again with `Last-Event-ID`, so no event is lost
 * or seen twice; it gives up after `maxRetries` drops in a row without a new event.
 */
export async function* followEvents(
  transport: Transport,
  taskId: string,
  options: FollowOptions = {},
): AsyncGenerator<TaskEvent> {
  let last = options.lastEventId ?? 0;
  const limit = options.maxRetries ?? transport.options.maxRetries ?? 2;
  let drops = 0;
  for (;;) {
    let cause: unknown;
    try {
      const response = await transport.request(
        `tasks/${encodeURIComponent(taskId)}/events`,
        { method: 'GET', headers: { accept: 'text/event-stream', 'last-event-id': String(last) } },
        { ...options, timeout: transport.options.timeout },
        // This loop counts the drops: retries inside it as well would multiply them.
        false,
      );
      if (!response.ok) throw await transport.errorOf(response, 'follow');
      for await (const { data } of sseMessages(response)) {
        if (data.type === 'stream_end') return;
        if (typeof data.seq !== 'number' || data.seq <= last) continue;
        last = data.seq;
        drops = 0;
        yield data as unknown as TaskEvent;
        if (data.type === 'final') return;
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!retryable(error) && !cutShort(error)) throw error;
      cause = error;
    }
    if (++drops > limit)
      throw new ApflowConnectionError(
        `the event stream of task ${taskId} dropped ${drops} times in a row (last event ${last})`,
        undefined,
        { cause },
      );
    await transport.backoff(drops, options.signal);
  }
}
