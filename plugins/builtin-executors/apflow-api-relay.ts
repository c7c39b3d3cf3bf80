import { isRecord, type ExecutorContext } from 'apflow';
import { clip } from './apflow-api-client.ts';

/** Relays a remote tree's progress as this task's progress (`ctx.progress`). */
export interface ProgressRelay {
  /** One event of the remote tree's stream. */
  event(event: Record<string, unknown>): void;
  /** One `tasks.get` answer of the remote task (polling). */
  polled(task: Record<string, unknown>): void;
}

const ENDED = new Set(['task_completed', 'task_failed', 'task_cancelled']);
const VERB: Record<string, string> = {
  task_start: 'started',
  task_waiting: 'is waiting (for input, a timer or tasks it added)',
  task_completed: 'completed',
  task_failed: 'failed',
  task_cancelled: 'cancelled',
};

/**
 * Builds the relay. The local progress is the mean of the remote tasks' progress (an ended task
 * counts as 1) over `total` tasks when known (the tasks sent), else over those seen so far; it
 * stays under 1 until the remote run ends, which the executor's own end reports.
 */
export function createRelay(ctx: Pick<ExecutorContext, 'progress'>, total = 0): ProgressRelay {
  const tasks = new Map<string, number>();
  let shown = -1;
  let said: string | undefined;
  const show = (progress: number, message: string | undefined) => {
    const value = Math.min(0.99, Math.max(0, progress));
    if (value === shown && (message === undefined || message === said)) return;
    shown = value;
    said = message;
    // A remote's text, relayed: at most 2,000 characters.
    ctx.progress(value, message === undefined ? undefined : clip(message));
  };
  const mean = () => {
    let sum = 0;
    for (const value of tasks.values()) sum += value;
    return sum / Math.max(total, tasks.size, 1);
  };
  return {
    event(event) {
      const id = typeof event.task_id === 'string' ? event.task_id : undefined;
      const type = typeof event.type === 'string' ? event.type : '';
      if (!id || !(type in VERB || type === 'progress')) return;
      const progress = typeof event.progress === 'number' ? event.progress : 0;
      tasks.set(id, ENDED.has(type) ? 1 : Math.min(1, Math.max(0, progress)));
      const message = typeof event.message === 'string' && event.message ? event.message : undefined;
      const error = typeof event.error === 'string' && event.error ? `: ${event.error}` : '';
      if (type === 'progress') show(mean(), message === undefined ? undefined : `remote task ${id}: ${message}`);
      else show(mean(), `remote task ${id} ${VERB[type]}${type === 'task_start' ? '' : error}`);
    },
    polled(task) {
      const id = typeof task.id === 'string' ? task.id : 'task';
      const counts = isRecord(task.counts) ? task.counts : {};
      const count = (key: string) => (typeof counts[key] === 'number' ? counts[key] : 0);
      if (count('total') > 0) {
        const finished = count('completed') + count('failed') + count('cancelled');
        show(finished / count('total'), `remote tree ${id}: ${finished} of ${count('total')} tasks finished`);
      } else {
        const status = typeof task.status === 'string' ? task.status : 'unknown';
        show(typeof task.progress === 'number' ? task.progress : 0, `remote task ${id}: ${status}`);
      }
    },
  };
}
