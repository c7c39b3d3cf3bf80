import type { SendMessageRequest } from '@a2a-js/sdk';
import { safeAssign, isRecord } from 'apflow';

/** What an A2A message asks apflow to do. */
export type Intent =
  /** Create and run this task tree (`tasks.execute`, the default). */
  | { kind: 'tree'; tasks: unknown[] }
  /** Call another operation of the tasks API (`metadata.method` or `metadata.skill_id`). */
  | { kind: 'method'; method: string; params: Record<string, unknown> }
  /** Nothing apflow can act on: the task waits for input. */
  | { kind: 'none' };

const looksLikeTask = (value: unknown) => isRecord(value) && typeof value.name === 'string';
/** Metadata keys that steer the message rather than being the operation's params. */
const STEERING = new Set(['method', 'skill_id', 'stream']);

/**
 * Reads a message as the original did (reference/original-apflow.md §7): the operation is
 * `metadata.method`, else `metadata.skill_id` (`execute_task_tree` = `tasks.execute`), default
 * `tasks.execute`; a tree is the first data part's `tasks`, or the data parts themselves when
 * each is a task (or the first data part is a list of tasks). Other operations take the
 * metadata (without the steering keys) and the first data part as params.
 */
export function readIntent(request: SendMessageRequest): Intent {
  const message = request.message;
  const metadata: Record<string, unknown> = { ...(message?.metadata ?? {}), ...(request.metadata ?? {}) };
  const named =
    typeof metadata.method === 'string'
      ? metadata.method
      : typeof metadata.skill_id === 'string'
        ? metadata.skill_id
        : 'tasks.execute';
  const method = named === 'execute_task_tree' ? 'tasks.execute' : named;
  const data = (message?.parts ?? []).flatMap((part) =>
    part.content?.$case === 'data' ? [part.content.value as unknown] : [],
  );
  const first = data[0];

  if (method !== 'tasks.execute') {
    const params = Object.fromEntries(Object.entries(metadata).filter(([key]) => !STEERING.has(key)));
    if (isRecord(first)) safeAssign(params, first);
    else if (Array.isArray(first) && method === 'tasks.create') params.tasks = first;
    return { kind: 'method', method, params };
  }
  if (isRecord(first) && Array.isArray(first.tasks)) return { kind: 'tree', tasks: first.tasks };
  if (Array.isArray(first) && first.length > 0 && first.every(looksLikeTask)) return { kind: 'tree', tasks: first };
  if (data.length > 0 && data.every(looksLikeTask)) return { kind: 'tree', tasks: data };
  return { kind: 'none' };
}
