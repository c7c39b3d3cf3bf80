import { definePlugin, Type, version, type FastifyReply } from 'apflow';
import type { EventStream } from './event-stream.ts';
import { streamTree, type TreeStreamOptions } from './stream-tree.ts';
import { registerSubscribeRoute } from './subscribe-route.ts';

/** What the sse plugin offers other plugins (`app.service('sse')`). */
export interface SseService {
  /** Answers `reply` with a tree's events as Server-Sent Events (see `stream-tree.ts`). */
  streamTree(reply: FastifyReply, options: TreeStreamOptions): Promise<void>;
}

declare module 'apflow' {
  interface KernelServices {
    sse: SseService;
  }
}

const Settings = Type.Object(
  {
    keep_alive_s: Type.Number({ default: 15, exclusiveMinimum: 0 }),
    max_buffered_bytes: Type.Integer({ default: 8 * 1024 * 1024, minimum: 1024 }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Server-Sent Events for task trees: `GET /tasks/{task_id}/events` (replay after `Last-Event-ID`,
 * then live), and the stream behind `use_streaming: true` of `tasks.execute` / `execute_task_tree`.
 */
export default definePlugin({
  name: 'sse',
  version,
  config: { key: 'sse', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const open = new Set<EventStream>();
    registerSubscribeRoute(app, settings, open);
    app.provide('sse', { streamTree: (reply, options) => streamTree(app, reply, settings, open, options) });
    // On shutdown or reload, end the streams so clients reconnect and resume with Last-Event-ID.
    app.onClosing(() => {
      for (const stream of [...open]) stream.end();
    });
  },
});
