import type { TaskEvent } from 'apflow';
import { ApflowClientError, ApflowConnectionError, AuthenticationError, NotFoundError } from './errors.ts';
import type { Transport, WebSocketClass } from './transport.ts';

/** Options of {@link subscribeEvents}. */
export interface SubscribeOptions {
  /** The seq of the last event already seen: only later ones come (default 0). */
  lastSeq?: number;
  signal?: AbortSignal;
  /** Reconnections in a row without a new event before it gives up (default: the client's maxRetries). */
  maxRetries?: number;
}

type Item = { event: TaskEvent } | { closed: true } | { error: Error };

/**
 * The events of a task's tree over the `/ws` WebSocket (subscribe with `last_seq`), in order,
 * ending after `final`. A closed socket is opened again from the last event seen.
 */
export async function* subscribeEvents(
  transport: Transport,
  taskId: string,
  options: SubscribeOptions = {},
): AsyncGenerator<TaskEvent> {
  const Socket = await socketClass(transport.options.WebSocket);
  const limit = options.maxRetries ?? transport.options.maxRetries ?? 2;
  let last = options.lastSeq ?? 0;
  let drops = 0;
  for (;;) {
    const items: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (item: Item) => {
      items.push(item);
      wake?.();
    };
    const url = transport.url('ws');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Before the socket: its 'open' must find its handler (a token function may take a while).
    const token = (await transport.headers()).authorization?.slice('Bearer '.length);
    const socket = new Socket(String(url));
    // A failed connection also closes: 'close' drives the retry ('ws' throws an 'error' nobody hears).
    socket.onerror = () => undefined;
    socket.onopen = () => {
      // The token goes in a first message, never in the URL (request logs keep URLs).
      if (token) socket.send(JSON.stringify({ action: 'auth', token }));
      socket.send(JSON.stringify({ action: 'subscribe', task_id: taskId, last_seq: last }));
    };
    socket.onmessage = (message: MessageEvent) => {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(String(message.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (data.type === 'error' && typeof data.error === 'string') push({ error: refusal(data.error) });
      else if (typeof data.seq === 'number') push({ event: data as unknown as TaskEvent });
    };
    socket.onclose = () => push({ closed: true });
    const abort = () => socket.close();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      for (;;) {
        if (options.signal?.aborted) throw options.signal.reason;
        const item = items.shift();
        if (!item) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if ('error' in item) throw item.error;
        if ('closed' in item) break;
        if (item.event.seq <= last) continue;
        last = item.event.seq;
        drops = 0;
        yield item.event;
        if (item.event.type === 'final') return;
      }
    } finally {
      options.signal?.removeEventListener('abort', abort);
      socket.onclose = null;
      socket.close();
    }
    if (++drops > limit)
      throw new ApflowConnectionError(
        `the WebSocket of task ${taskId} closed ${drops} times in a row (last event ${last})`,
      );
    await transport.backoff(drops, options.signal);
  }
}

/** The typed error of a refusal the server sent on the socket. */
function refusal(message: string): Error {
  const fields = { message, status: 200, method: 'subscribe' };
  if (/not found/i.test(message)) return new NotFoundError({ ...fields, code: -32004 });
  if (/auth|token|unauthori[sz]ed/i.test(message)) return new AuthenticationError({ ...fields, code: -32001 });
  return new ApflowClientError(message);
}

/** The WebSocket class to use: the one given, the global one (browsers, Node 22), or `ws`. */
async function socketClass(given: WebSocketClass | undefined): Promise<WebSocketClass> {
  if (given) return given;
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  const module = (await import('ws')) as unknown as { default: WebSocketClass };
  return module.default;
}
