import type { TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { TaskRepository } from '../engine/task-repository.ts';
import { emitRunSpan, emitTaskSpan } from './spans.ts';
import { tracingActive } from './trace-ids.ts';

const ENDINGS = new Set(['task_completed', 'task_failed', 'task_cancelled']);

/**
 * Makes the spans of the tasks and runs whose endings this engine committed (each ending is
 * committed once, by one engine: one span each), from their stored rows, after the commit and
 * off the engine's path. Without tracing it does nothing.
 */
export function createRunSpans(repo: TaskRepository, log: Logger) {
  const make = async (event: TaskEvent) => {
    if (event.type === 'final') {
      const root = await repo.get(event.root_task_id);
      if (!root?.trace_parent) return;
      const started = (await repo.treeStarts([root.id])).get(root.id) ?? root.started_at ?? root.updated_at;
      emitRunSpan(root, started);
    } else {
      const row = await repo.get(event.task_id);
      if (row?.trace_parent) emitTaskSpan(row);
    }
  };
  return {
    /** Hears committed events: an ended task's or run's span is made. */
    ended(events: readonly TaskEvent[]): void {
      if (!tracingActive()) return;
      for (const event of events)
        if (event.type === 'final' || ENDINGS.has(event.type))
          void make(event).catch((error: unknown) => log.debug({ err: error }, 'a span could not be made'));
    },
  };
}
