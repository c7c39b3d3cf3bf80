import type { FastifyReply, PluginApp, TaskEvent } from 'apflow';
import { createEventStream, type EventStream } from './event-stream.ts';

/** Settings of the sse plugin. */
export interface SseSettings {
  keep_alive_s: number;
  max_buffered_bytes: number;
}

/** What {@link streamTree} sends. */
export interface TreeStreamOptions {
  rootId: string;
  /** Only events with a greater seq are sent (a resume, or the start of a new run). */
  after: number;
  /** A first frame before the events (the JSON-RPC envelope of `tasks.execute`). */
  first?: unknown;
}

/**
 * Answers `reply` with the events of one tree as Server-Sent Events: what the event log holds
 * after `after`, then the live events, in order and without duplicates, until the tree's `final`
 * event, followed by a `stream_end` frame.
 */
export async function streamTree(app: PluginApp, reply: FastifyReply, settings: SseSettings, open: Set<EventStream>, options: TreeStreamOptions): Promise<void> {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Send the headers now: a client should see the stream open before the first event.
  reply.raw.flushHeaders();
  const stream = createEventStream(reply.raw, { keepAliveS: settings.keep_alive_s, maxBufferedBytes: settings.max_buffered_bytes });
  open.add(stream);
  stream.onClose(() => open.delete(stream));
  if (options.first !== undefined) stream.data(options.first);

  let sent = options.after;
  let replaying = true;
  const waiting: TaskEvent[] = [];
  const deliver = (event: TaskEvent) => {
    if (event.seq <= sent || stream.ended) return;
    sent = event.seq;
    stream.event(event);
    if (event.type === 'final') {
      stream.data({ type: 'stream_end', task_id: options.rootId });
      stream.end();
    }
  };
  // Listen first, then read the log: nothing falls between the two, and duplicates are dropped by seq.
  const stop = app.engine.subscribe((event) => {
    if (event.root_task_id !== options.rootId) return;
    if (replaying) waiting.push(event);
    else deliver(event);
  });
  stream.onClose(stop);
  for (const event of await app.tasks.events(options.rootId, options.after)) deliver(event);
  replaying = false;
  for (const event of waiting.sort((a, b) => a.seq - b.seq)) deliver(event);
}
