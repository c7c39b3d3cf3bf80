import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endingOf } from '../../../kernel/engine/task-ending.ts';
import type { TaskRow } from '../../../kernel/tasks/task-record.ts';
import { runInMemory } from './parts.ts';

/** Task `t`, running here (first attempt unless told), with these params. */
function running(params: Record<string, unknown> | null = null, attempts = 1): TaskRow {
  const row = runInMemory([{ id: 't', params }]).rows.get('t');
  if (!row) throw new Error('no row');
  return {
    ...row,
    status: 'in_progress',
    attempts,
    lease_owner: 'engine-a',
    lease_expires_at: '2030-01-01T00:00:00.000Z',
  };
}

const released = (change: Partial<TaskRow>) => [change.lease_owner, change.lease_expires_at];

test('completed: the result stored, progress full, lease released, the run goes on', async () => {
  const { report, retryAt } = endingOf(running(), { status: 'completed', result: { n: 1 } });
  assert.equal(retryAt, undefined);
  assert.deepEqual([report.kind, report.type, report.settled], ['end', 'task_completed', true]);
  assert.deepEqual(
    [report.change.status, report.change.result, report.change.progress, report.change.error],
    ['completed', { n: 1 }, 1, null],
  );
  assert.ok(report.change.completed_at);
  assert.deepEqual(released(report.change), [null, null]);
  assert.equal(report.row.status, 'completed');
  assert.equal(report.row.id, 't');
});

test('failed without retries: failed for good', async () => {
  const { report, retryAt } = endingOf(running(), { status: 'failed', error: 'boom', retryable: true });
  assert.equal(retryAt, undefined);
  assert.deepEqual(
    [report.type, report.settled, report.change.status, report.change.error],
    ['task_failed', true, 'failed', 'boom'],
  );
  assert.ok(report.change.completed_at);
  assert.deepEqual(released(report.change), [null, null]);
});

test('a retryable failure with retries left goes back to pending after its backoff, saying so', async () => {
  const { report, retryAt } = endingOf(running({ retries: 2, retry_delay_s: 3 }), {
    status: 'failed',
    error: 'flaky',
    retryable: true,
  });
  assert.ok(retryAt !== undefined);
  const at = new Date(retryAt).toISOString();
  assert.deepEqual(
    [report.type, report.settled, report.change.status, report.change.error],
    ['progress', false, 'pending', 'flaky'],
  );
  assert.deepEqual([report.change.next_attempt_at, report.change.ready_at], [at, at]);
  assert.equal(report.message, 'Retrying in 3s (attempt 2 of 3): flaky');
  assert.deepEqual(released(report.change), [null, null]);
  assert.equal(report.change.completed_at, undefined, 'not ended');
});

test('the backoff doubles with each attempt', async () => {
  const { report } = endingOf(running({ retries: 3, retry_delay_s: 0.5 }, 3), {
    status: 'failed',
    error: 'flaky',
    retryable: true,
  });
  assert.equal(report.message, 'Retrying in 2s (attempt 4 of 4): flaky');
});

test('a failure a retry cannot fix fails at once, retries left or not', async () => {
  const { report, retryAt } = endingOf(running({ retries: 5 }), {
    status: 'failed',
    error: 'no executor',
    retryable: false,
  });
  assert.equal(retryAt, undefined);
  assert.deepEqual([report.type, report.change.status], ['task_failed', 'failed']);
});

test('a retryable failure on its last attempt fails for good', async () => {
  const { report, retryAt } = endingOf(running({ retries: 1 }, 2), {
    status: 'failed',
    error: 'flaky',
    retryable: true,
  });
  assert.equal(retryAt, undefined);
  assert.deepEqual([report.type, report.change.status], ['task_failed', 'failed']);
});

test('decides only: the row it was given is left as it was', async () => {
  const row = running();
  endingOf(row, { status: 'completed', result: 1 });
  assert.deepEqual([row.status, row.result, row.lease_owner], ['in_progress', null, 'engine-a']);
});
