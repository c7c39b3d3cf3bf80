import { definePlugin, Type, version } from 'apflow';
import type { EventStream } from './event-stream.ts';
import { registerSubscribeRoute, type SseSettings } from './subscribe-route.ts';

const Settings = Type.Object(
  {
    keep_alive_s: Type.Number({ default: 15, exclusiveMinimum: 0 }),
    max_buffered_bytes: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Server-Sent Events for task trees: `GET /tasks/{task_id}/events` replays what a client missed
 * (from the persisted event log, after `Last-Event-ID`) and then streams live events until the
 * tree's `final` event.
 */
export default definePlugin({
  name: 'sse',
  version,
  config: { key: 'sse', schema: Settings },
  setup(app) {
    const settings = { keep_alive_s: 15, max_buffered_bytes: 1024 * 1024, ...((app.config.sse ?? {}) as Partial<SseSettings>) };
    const open = new Set<EventStream>();
    registerSubscribeRoute(app, settings, open);
    // On shutdown or reload, end the streams so clients reconnect and resume with Last-Event-ID.
    app.onClosing(() => {
      for (const stream of [...open]) stream.end();
    });
  },
});
