import type { FastifyReply, PluginApp } from 'apflow';
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
export async function streamTree(
  app: PluginApp,
  reply: FastifyReply,
  settings: SseSettings,
  open: Set<EventStream>,
  options: TreeStreamOptions,
): Promise<void> {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Send the headers now: a client should see the stream open before the first event.
  reply.raw.flushHeaders();
  const stream = createEventStream(reply.raw, {
    keepAliveS: settings.keep_alive_s,
    maxBufferedBytes: settings.max_buffered_bytes,
    onOverflow: () => app.service('metrics')?.eventsDropped('sse'),
  });
  open.add(stream);
  stream.onClose(() => open.delete(stream));
  if (options.first !== undefined) stream.data(options.first);

  const following = app.engine.follow(options.rootId, options.after, (event) => {
    if (stream.ended) return;
    stream.event(event);
    if (event.type === 'final') {
      stream.data({ type: 'stream_end', task_id: options.rootId });
      stream.end();
    }
  });
  stream.onClose(following.stop);
  await following.replayed;
}
