import type { TaskCounts, TaskEvent, TaskEventType } from '../hooks/hook-types.ts';
import type { TaskRow } from '../tasks/task-record.ts';

/** What an event says of its task. */
export type EventSubject = Pick<TaskRow, 'id' | 'root_id' | 'status' | 'progress' | 'error'> & {
  result?: unknown;
  waiting?: TaskRow['waiting'];
};

/** Makes a task event from a task's current row; `seq` is the tree's next number. */
export function makeEvent(
  type: TaskEventType,
  row: EventSubject,
  seq: number,
  extra: { message?: string; counts?: TaskCounts } = {},
): TaskEvent {
  const event: TaskEvent = {
    type,
    task_id: row.id,
    root_task_id: row.root_id,
    status: row.status as TaskEvent['status'],
    progress: row.progress,
    timestamp: new Date().toISOString(),
    seq,
  };
  if (extra.message !== undefined) event.message = extra.message;
  if (extra.counts !== undefined) event.counts = extra.counts;
  if (type === 'task_completed' || type === 'final') {
    if (row.result !== null && row.result !== undefined) event.result = row.result;
  }
  if (type === 'task_waiting' && row.waiting) event.waiting = row.waiting;
  if (row.error && (type === 'task_failed' || type === 'task_cancelled' || type === 'final' || type === 'progress'))
    event.error = row.error;
  return event;
}

const serialized = new WeakMap<TaskEvent, string>();

/** An event as JSON, made once however many clients (streams, sockets, webhooks) receive it. */
export function eventJson(event: TaskEvent): string {
  let text = serialized.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    serialized.set(event, text);
  }
  return text;
}
