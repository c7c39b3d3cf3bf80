import type { TaskEvent } from 'apflow';
import { ApflowConnectionError, ConflictError, rpcError } from './errors.ts';
import { followEvents } from './follow-events.ts';
import type { ExecuteStarted } from './method-types.ts';
import { sseMessages } from './sse-messages.ts';
import { cutShort, nextId, retryable, type CallOptions, type Transport } from './transport.ts';

/**
 * A streamed run: iterate it for the run's events, in order, ending with `final`. `started`
 * resolves with the server's first answer (the root task id) as soon as the run began; reading it
 * sends the request if iterating has not yet (the request is sent once either way).
 */
export interface ExecutionStream extends AsyncIterable<TaskEvent> {
  readonly started: Promise<ExecuteStarted>;
}

/**
 * Starts a run with `use_streaming` on `endpoint` and follows it. A connection that drops after
 * the run began is followed on with `GET /tasks/{root}/events` from the last event seen; one that
 * drops before is sent again only with an idempotency key (the server then follows the first run).
 */
export function executeStream(
  transport: Transport,
  endpoint: string,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions,
): ExecutionStream {
  let settle!: { resolve: (value: ExecuteStarted) => void; reject: (error: unknown) => void };
  const started = new Promise<ExecuteStarted>((resolve, reject) => (settle = { resolve, reject }));
  // An unread `started` must not become an unhandled rejection: the iterator throws the same error.
  started.catch(() => undefined);
  let begun: ExecuteStarted | undefined;
  let last = 0;

  async function* open(): AsyncGenerator<TaskEvent> {
    const response = await transport.request(
      endpoint,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: nextId(), method, params: { ...params, use_streaming: true } }),
      },
      options,
      options.idempotencyKey !== undefined,
    );
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const body = (await response.json().catch(() => undefined)) as
        { result?: { message?: string }; error?: { code: number; message: string; data?: unknown } } | undefined;
      if (body?.error) throw rpcError({ ...body.error, status: response.status, method });
      // A tree already running answers {success: false, status: 'already_running'} instead of a stream.
      if (body?.result)
        throw new ConflictError({
          code: -32005,
          message: body.result.message ?? 'the tree is already running',
          data: body.result,
          status: response.status,
          method,
        });
      throw await transport.errorOf(response, method);
    }
    for await (const { data } of sseMessages(response)) {
      if (data.jsonrpc === '2.0') {
        if (data.error) throw rpcError({ ...(data.error as { code: number; message: string }), status: 200, method });
        begun = data.result as ExecuteStarted;
        last = Math.max(last, begun.last_event_id ?? 0);
        settle.resolve(begun);
        continue;
      }
      if (data.type === 'stream_end') return;
      if (typeof data.seq !== 'number' || data.seq <= last) continue;
      last = data.seq;
      yield data as unknown as TaskEvent;
      if (data.type === 'final') return;
    }
    throw new ApflowConnectionError(`the stream of ${method} ended before the run's final event`);
  }

  async function* events(): AsyncGenerator<TaskEvent> {
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const event of open()) {
            yield event;
            if (event.type === 'final') return;
          }
          return;
        } catch (error) {
          if (options.signal?.aborted) throw options.signal.reason;
          const dropped = retryable(error) || cutShort(error);
          if (!dropped || begun) {
            if (!begun || !dropped) throw error;
            break;
          }
          // Dropped before the run began: only a keyed call may be sent again.
          if (options.idempotencyKey === undefined || attempt > (options.maxRetries ?? 2)) throw error;
          await transport.backoff(attempt, options.signal);
        }
      }
      // The run goes on without us: follow its events from the last one seen.
      yield* followEvents(transport, (begun as ExecuteStarted).root_task_id, { ...options, lastEventId: last });
    } catch (error) {
      settle.reject(error);
      throw error;
    }
  }

  // One run per call: iterating twice reads the same events, not a second run. Reading `started`
  // first sends the request too; the event that read brought is the iterator's first.
  let source: AsyncGenerator<TaskEvent> | undefined;
  let primed: Promise<IteratorResult<TaskEvent>> | undefined;
  const iterator: AsyncIterableIterator<TaskEvent> = {
    next() {
      const first = primed;
      primed = undefined;
      return first ?? (source ??= events()).next();
    },
    return: (value?: unknown) => (source ??= events()).return(value),
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    get started() {
      if (!source) {
        primed = (source = events()).next();
        // Its rejection is the iterator's (and `started`'s) to report.
        primed.catch(() => undefined);
      }
      return started;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}
