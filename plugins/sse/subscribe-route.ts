import { ApflowError, type PluginApp, type TaskEvent } from 'apflow';
import { createEventStream, type EventStream } from './event-stream.ts';

/** Settings of the sse plugin. */
export interface SseSettings {
  keep_alive_s: number;
  max_buffered_bytes: number;
}

/**
 * `GET /tasks/{task_id}/events`: the events of the task's tree as Server-Sent Events. With
 * `Last-Event-ID` (or `?last_event_id=`) only what came after that seq is sent: the missed
 * events are replayed from the event log, then the live ones follow, in order and without
 * duplicates. The stream ends after the tree's `final` event with a `stream_end` frame.
 */
export function registerSubscribeRoute(app: PluginApp, settings: SseSettings, open: Set<EventStream>): void {
  app.http.get<{ Params: { task_id: string }; Querystring: { last_event_id?: string } }>('/tasks/:task_id/events', async (request, reply) => {
    const task = await app.tasks.get(request.params.task_id);
    if (!task) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${request.params.task_id} not found` });
    const principal = request.apflow.principal;
    if (principal && task.user_id && principal.user_id !== task.user_id && !principal.roles.includes('admin')) {
      throw new ApflowError('APF_FORBIDDEN', { message: 'Permission denied: you can only watch your own tasks' });
    }
    const lastHeader = request.headers['last-event-id'] ?? request.query.last_event_id;
    const after = Number(Array.isArray(lastHeader) ? lastHeader[0] : (lastHeader ?? 0));
    if (!Number.isInteger(after) || after < 0) throw new ApflowError('APF_INVALID_PARAMS', { message: 'Last-Event-ID must be a whole number (the seq of the last event seen)' });

    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const stream = createEventStream(reply.raw, { keepAliveS: settings.keep_alive_s, maxBufferedBytes: settings.max_buffered_bytes });
    open.add(stream);
    stream.onClose(() => open.delete(stream));

    const rootId = task.root_id;
    let sent = after;
    let replaying = true;
    const waiting: TaskEvent[] = [];
    const deliver = (event: TaskEvent) => {
      if (event.seq <= sent) return;
      sent = event.seq;
      stream.event(event);
      if (event.type === 'final') {
        stream.data({ type: 'stream_end', task_id: rootId });
        stream.end();
      }
    };
    // Listen first, then read the log: nothing falls between the two, and duplicates are dropped by seq.
    const stop = app.engine.subscribe((event) => {
      if (event.root_task_id !== rootId) return;
      if (replaying) waiting.push(event);
      else deliver(event);
    });
    stream.onClose(stop);
    for (const event of await app.tasks.events(rootId, after)) deliver(event);
    replaying = false;
    for (const event of waiting.sort((a, b) => a.seq - b.seq)) deliver(event);
  });
}
