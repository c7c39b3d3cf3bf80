import { ApflowError, type PluginApp } from 'apflow';
import type { EventStream } from './event-stream.ts';
import { streamTree, type SseSettings } from './stream-tree.ts';

/**
 * `GET /tasks/{task_id}/events`: the events of the task's tree as Server-Sent Events. With
 * `Last-Event-ID` (or `?last_event_id=`) only what came after that seq is sent: the missed
 * events are replayed from the event log, then the live ones follow.
 */
export function registerSubscribeRoute(app: PluginApp, settings: SseSettings, open: Set<EventStream>): void {
  app.http.get<{ Params: { task_id: string }; Querystring: { last_event_id?: string } }>(
    '/tasks/:task_id/events',
    async (request, reply) => {
      const task = await app.tasks.visible(request.params.task_id, request.apflow.principal);
      if (!task) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${request.params.task_id} not found` });
      const lastHeader = request.headers['last-event-id'] ?? request.query.last_event_id;
      const after = Number(Array.isArray(lastHeader) ? lastHeader[0] : (lastHeader ?? 0));
      if (!Number.isInteger(after) || after < 0)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: 'Last-Event-ID must be a whole number (the seq of the last event seen)',
        });
      await streamTree(app, reply, settings, open, { rootId: task.root_id, after });
    },
  );
}
