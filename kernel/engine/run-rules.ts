import { NOT_RUN, TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';

/** The message of a task whose server stopped while it ran and that has no retry left. */
export const INTERRUPTED = 'interrupted: the server stopped while this task was running';

/**
 * What runs when one task (not the root) is executed: the task and everything it depends on,
 * transitively (reference/original-apflow.md §2.3).
 */
export function executionScope(rows: readonly TaskRow[], taskId: string): Set<string> {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const scope = new Set<string>();
  for (const stack = [taskId]; stack.length > 0;) {
    const id = stack.pop() as string;
    if (scope.has(id) || !byId.has(id)) continue;
    scope.add(id);
    for (const dep of byId.get(id)?.dependencies ?? []) stack.push(dep.id);
  }
  return scope;
}

/**
 * A finished task executed again starts over (its durable memory too); pending and running ones
 * are left alone.
 */
export function resetForRerun(row: TaskRow): Partial<TaskRow> | null {
  if (!TERMINAL_STATUSES.has(row.status)) return null;
  return {
    ...NOT_RUN,
    steps: null,
    waiting: null,
    attempts: 0,
    next_attempt_at: null,
    lease_owner: null,
    lease_expires_at: null,
    updated_at: new Date().toISOString(),
  };
}

/** A task left `in_progress` by a server that stopped: run again if it has retries left, else failed. */
export function recoverOrphan(row: TaskRow): Partial<TaskRow> {
  const retries = Number(row.params?.retries ?? 0);
  const now = new Date().toISOString();
  if (row.attempts <= retries) {
    return {
      status: 'pending',
      error: INTERRUPTED,
      started_at: null,
      lease_owner: null,
      lease_expires_at: null,
      updated_at: now,
    };
  }
  return {
    status: 'failed',
    error: INTERRUPTED,
    completed_at: now,
    lease_owner: null,
    lease_expires_at: null,
    updated_at: now,
  };
}

/** Exponential backoff before retry n: `params.retry_delay_s` (default 1 s) doubled each time, at most 5 min. */
export function retryDelayMs(row: TaskRow): number {
  const base = Number(row.params?.retry_delay_s ?? 1);
  const seconds = (Number.isFinite(base) && base >= 0 ? base : 1) * 2 ** Math.max(0, row.attempts - 1);
  return Math.round(Math.min(300, seconds) * 1000);
}
