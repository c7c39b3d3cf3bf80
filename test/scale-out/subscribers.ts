// Real stream clients for the scale-out tests: Server-Sent Events (GET /tasks/{id}/events) and
// WebSocket (GET /ws, one socket serving many subscriptions), each collecting a tree's events.
import { request, type ClientRequest } from 'node:http';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import type { TaskEvent } from 'apflow';

/** What one subscriber saw of one tree. */
export interface TreeSubscription {
  /** `sse@s1` or `ws@s2`: how and where it listened. */
  label: string;
  rootId: string;
  events: TaskEvent[];
  /** True once `stream_end` came (after `final`). */
  ended: boolean;
  /** Anything unexpected: an overflow frame, an error message, a dropped connection. */
  problems: string[];
}

/**
 * Opens `GET /tasks/{rootId}/events` on `base` (from the start: no Last-Event-ID unless
 * `after` is given); resolves once the response headers came, events keep arriving after.
 */
export function sseSubscribe(
  t: TestContext,
  base: string,
  server: string,
  rootId: string,
  after?: number,
): Promise<TreeSubscription & { close(): void }> {
  let closed = false;
  let client: ClientRequest | undefined;
  const sub = {
    label: `sse@${server}`,
    rootId,
    events: [] as TaskEvent[],
    ended: false,
    problems: [] as string[],
    close: () => ((closed = true), client?.destroy()),
  };
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (after !== undefined) headers['last-event-id'] = String(after);
    const req: ClientRequest = (client = request(`${base}/tasks/${rootId}/events`, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE ${base}/tasks/${rootId}/events answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          const message = JSON.parse(data.slice(6)) as Record<string, unknown>;
          if (typeof message.seq === 'number') sub.events.push(message as unknown as TaskEvent);
          else if (message.type === 'stream_end') sub.ended = true;
          else sub.problems.push(`unexpected frame ${data}`);
        }
      });
      res.on('close', () => {
        if (!sub.ended && !closed) sub.problems.push('the stream closed before stream_end');
      });
      resolve(sub);
    }));
    req.on('error', (error) => {
      if (closed) return;
      sub.problems.push(`connection error: ${error.message}`);
      reject(error);
    });
    req.end();
    t.after(() => req.destroy());
  });
}

/** One WebSocket to a server, on which many trees are subscribed. */
export async function wsConnection(t: TestContext, base: string, server: string) {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
  const subs = new Map<string, TreeSubscription>();
  const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const stray: string[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    if (message.type === 'subscribed') {
      waiting.get(message.task_id as string)?.resolve();
      return;
    }
    if (message.type === 'stream_end') {
      const sub = subs.get(message.task_id as string);
      if (sub) sub.ended = true;
      return;
    }
    if (typeof message.seq === 'number') {
      const sub = subs.get(message.root_task_id as string);
      if (sub) sub.events.push(message as unknown as TaskEvent);
      else stray.push(String(data));
      return;
    }
    // An error message: it names no subscription reliably, so every waiting subscribe hears it.
    for (const waiter of waiting.values()) waiter.reject(new Error(`WebSocket on ${server}: ${String(data)}`));
    stray.push(String(data));
  });
  socket.on('close', () => {
    for (const sub of subs.values()) if (!sub.ended) sub.problems.push('the socket closed before stream_end');
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  t.after(() => socket.terminate());
  return {
    /** Messages that belonged to no subscription (should stay empty). */
    stray,
    /** Subscribes to the tree of `rootId` from its start; resolves once `subscribed` came. */
    async subscribe(rootId: string): Promise<TreeSubscription> {
      const sub: TreeSubscription = { label: `ws@${server}`, rootId, events: [], ended: false, problems: [] };
      subs.set(rootId, sub);
      await new Promise<void>((resolve, reject) => {
        waiting.set(rootId, { resolve, reject });
        socket.send(JSON.stringify({ action: 'subscribe', task_id: rootId }));
      }).finally(() => waiting.delete(rootId));
      return sub;
    },
  };
}

/** The key of an event for comparing streams (timestamps aside). */
const eventKey = (event: TaskEvent) => `${event.seq}:${event.type}:${event.task_id}:${event.status}`;

/**
 * What is wrong with what `sub` received, compared to `log` (the tree's whole event log, as a
 * replay from the start gives it): it must be the same events, seq strictly increasing by one,
 * ending with `final` and `stream_end`.
 */
export function streamProblems(sub: TreeSubscription, log: readonly TaskEvent[]): string[] {
  const problems = [...sub.problems];
  sub.events.forEach((event, i) => {
    const previous = sub.events[i - 1];
    if (previous && event.seq !== previous.seq + 1) problems.push(`seq ${event.seq} after ${previous.seq}`);
    if (event.root_task_id !== sub.rootId) problems.push(`event of another tree: ${event.root_task_id}`);
  });
  if (sub.events[0] && sub.events[0].seq !== log[0]?.seq)
    problems.push(`first seq ${sub.events[0].seq}, the log starts at ${log[0]?.seq}`);
  if (sub.events.at(-1)?.type !== 'final')
    problems.push(
      `no final event (got ${sub.events.length} of ${log.length} events, last seq ${sub.events.at(-1)?.seq ?? 'none'})`,
    );
  if (!sub.ended) problems.push('no stream_end');
  const got = sub.events.map(eventKey).join('\n');
  if (got !== log.map(eventKey).join('\n') && problems.length === sub.problems.length)
    problems.push('the events differ from the event log');
  return problems;
}
