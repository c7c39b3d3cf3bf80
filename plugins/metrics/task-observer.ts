import type { PluginApp, TaskEvent, TaskRan } from 'apflow';
import type { MetricSet } from './metric-set.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Observes tasks through hook interceptors (they see every call and change nothing):
 * `progress` for status transitions, `taskRan` for executor run times.
 *
 * `statuses` holds the last status of each task that is not finished yet (shared by the
 * generations of a process, so a task started before a reload has the right `from`); a task
 * leaves it when it reaches a terminal status. A task not in it is `pending`.
 */
export function observeTasks(app: PluginApp, metrics: MetricSet, statuses: Map<string, string>): void {
  app.hooks.progress.intercept({
    call: (event: TaskEvent) => {
      if (event.type === 'final') return;
      const from = statuses.get(event.task_id) ?? 'pending';
      const to = event.status;
      if (from === to) return;
      metrics.taskTransitions.inc({ from, to });
      if (TERMINAL.has(to) || to === 'pending') statuses.delete(event.task_id);
      else statuses.set(event.task_id, to);
    },
  });

  app.hooks.taskRan.intercept({
    call: (ran: TaskRan) =>
      metrics.taskDuration.observe({ executor: ran.executor_id, outcome: ran.outcome }, ran.seconds),
  });
}
