import type { TaskEvent } from 'apflow';

/** Sends one MCP progress notification (`progress` grows with every call). */
export type ProgressSink = (progress: number, total: number | undefined, message: string) => void;

const FINISHED = new Set(['task_completed', 'task_failed', 'task_cancelled']);

/**
 * Turns a run's task events into MCP progress: `progress` counts the tasks that finished (plus
 * the running task's own share of progress), out of the tasks in the run when known; the message
 * says which task moved. MCP wants `progress` to grow with each notification, so an event that
 * would not raise it sends nothing; `note` sends a message of its own (a question waiting).
 */
export function createRunProgress(sink: ProgressSink, names: ReadonlyMap<string, string>, total: number | undefined) {
  let finished = 0;
  let last = -1;
  const send = (value: number, message: string) => {
    if (value <= last) return;
    last = value;
    sink(value, total, message);
  };
  /** A message that must reach the client (a question waiting): always raises `progress`, never past the next whole task. */
  const note = (message: string) => send(last < finished ? finished : last + (finished + 1 - last) / 2, message);
  const onEvent = (event: TaskEvent) => {
    const name = names.get(event.task_id) ?? event.task_id;
    if (FINISHED.has(event.type)) {
      finished += 1;
      const state = event.type.slice('task_'.length);
      send(finished, event.error ? `${name}: ${state} (${event.error})` : `${name}: ${state}`);
    } else if (event.type === 'task_start') {
      // A small step, so that a client sees the run move before the first task ends.
      send(finished + 0.01, `${name}: started`);
    } else if (event.type === 'progress' && event.progress > 0 && event.progress < 1) {
      send(
        finished + Math.min(0.99, Math.max(0.01, event.progress)),
        event.message ? `${name}: ${event.message}` : `${name}: ${Math.round(event.progress * 100)}%`,
      );
    }
  };
  return { onEvent, note };
}
