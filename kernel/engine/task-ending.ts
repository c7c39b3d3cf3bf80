import type { TaskRow } from '../tasks/task-record.ts';
import { retryDelayMs } from './run-rules.ts';
import type { RunOutcome } from './run-task.ts';
import type { Report } from './write-reports.ts';

type EndReport = Extract<Report, { kind: 'end' }>;

/** How a task that ran here ends: the write to ask for, and when to look again for a retry. */
export interface TaskEnding {
  report: EndReport;
  /** Set when the task goes back to pending for a retry: the moment its backoff ends (ms epoch). */
  retryAt?: number;
}

/**
 * Decides the write for a task whose executor finished here: completed, failed, or — when it
 * failed for a reason a retry may fix and it has retries left — pending again after a backoff
 * (`params.retries`, `params.retry_delay_s`). A pure decision: it changes nothing.
 */
export function endingOf(row: Readonly<TaskRow>, outcome: Exclude<RunOutcome, { status: 'aborted' }>): TaskEnding {
  const now = new Date().toISOString();
  const released = { updated_at: now, lease_owner: null, lease_expires_at: null };
  const end = (change: Partial<TaskRow>, rest: Pick<EndReport, 'type' | 'settled'> & { message?: string }) => ({
    kind: 'end' as const,
    row: { ...row, ...change },
    change,
    ...rest,
  });
  if (outcome.status === 'completed') {
    const change = {
      status: 'completed' as const,
      progress: 1,
      result: outcome.result,
      error: null,
      completed_at: now,
    };
    return { report: end({ ...change, ...released }, { type: 'task_completed', settled: true }) };
  }
  const retries = Number(row.params?.retries ?? 0);
  if (outcome.retryable && row.attempts <= retries) {
    const delay = retryDelayMs(row);
    const retryAt = Date.now() + delay;
    const at = new Date(retryAt).toISOString();
    const change = { status: 'pending' as const, error: outcome.error, next_attempt_at: at, ready_at: at, ...released };
    const message = `Retrying in ${delay / 1000}s (attempt ${row.attempts + 1} of ${retries + 1}): ${outcome.error}`;
    return { report: end(change, { type: 'progress', message, settled: false }), retryAt };
  }
  const change = { status: 'failed' as const, error: outcome.error, completed_at: now, ...released };
  return { report: end(change, { type: 'task_failed', settled: true }) };
}
