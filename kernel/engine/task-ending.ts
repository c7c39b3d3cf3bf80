import type { TaskRow } from '../tasks/task-record.ts';
import { retryDelayMs } from './run-rules.ts';
import type { Suspension } from './durable-context.ts';
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
 * Decides the write for a task whose executor finished here: completed, failed, pending again
 * after a backoff when it failed for a reason a retry may fix and it has retries left
 * (`params.retries`, `params.retry_delay_s`), or suspended when it waits. A pure decision: it
 * changes nothing.
 */
export function endingOf(
  row: Readonly<TaskRow>,
  outcome: Exclude<RunOutcome, { status: 'aborted' }>,
  maxTreeSize = Infinity,
): TaskEnding {
  const now = new Date().toISOString();
  const released = { updated_at: now, lease_owner: null, lease_expires_at: null };
  if (outcome.status === 'suspended') return suspensionOf(row, outcome.suspension, released, maxTreeSize);
  const end = (change: Partial<TaskRow>, type: EndReport['type'], settled: boolean, message?: string): EndReport =>
    message === undefined
      ? { kind: 'end', row: changed(row, change), change, type, settled }
      : { kind: 'end', row: changed(row, change), change, type, message, settled };
  if (outcome.status === 'completed') {
    const change = {
      status: 'completed' as const,
      progress: 1,
      result: outcome.result,
      error: null,
      completed_at: now,
      ...released,
    };
    return { report: end(change, 'task_completed', true) };
  }
  const retries = Number(row.params?.retries ?? 0);
  if (outcome.retryable && row.attempts <= retries) {
    const delay = retryDelayMs(row);
    const retryAt = Date.now() + delay;
    const at = new Date(retryAt).toISOString();
    const change = { status: 'pending' as const, error: outcome.error, next_attempt_at: at, ready_at: at, ...released };
    const message = `Retrying in ${delay / 1000}s (attempt ${row.attempts + 1} of ${retries + 1}): ${outcome.error}`;
    return { report: end(change, 'progress', false, message), retryAt };
  }
  const change = { status: 'failed' as const, error: outcome.error, completed_at: now, ...released };
  return { report: end(change, 'task_failed', true) };
}

/**
 * The row as it is after `change`, a copy. A clone then the changed columns: `{ ...row, ...change }`
 * copies every column one by one (measured ~4 µs a task, against ~0.2 µs).
 */
function changed(row: Readonly<TaskRow>, change: Partial<TaskRow>): TaskRow {
  return Object.assign({ ...row }, change);
}

/**
 * A run that ended by waiting: the task keeps no lease and no slot. Waiting for input it is
 * `input_required` (claimable at its timeout, if any); waiting on a timer it is pending and
 * claimable when the timer ends; waiting for its spawned children it is pending until its run
 * makes it ready again (its children ended). The attempt is given back: waking is not a retry.
 */
function suspensionOf(
  row: Readonly<TaskRow>,
  suspension: Suspension,
  released: Partial<TaskRow>,
  maxTreeSize: number,
): TaskEnding {
  const { wait } = suspension;
  const wakeAt = wait.kind === 'sleep' ? wait.until : wait.kind === 'input' ? (wait.timeout_at ?? null) : null;
  const change: Partial<TaskRow> = {
    status: wait.kind === 'input' ? 'input_required' : 'pending',
    steps: suspension.steps,
    waiting: wait,
    ready_at: wakeAt,
    next_attempt_at: null,
    error: null,
    attempts: Math.max(0, row.attempts - 1),
    ...released,
  };
  const report: EndReport = {
    kind: 'end',
    row: changed(row, change),
    change,
    type: 'task_waiting',
    settled: false,
    ...(suspension.spawned ? { spawned: { rows: suspension.spawned, maxTreeSize } } : {}),
  };
  return { report, ...(wakeAt ? { retryAt: Date.parse(wakeAt) } : {}) };
}
