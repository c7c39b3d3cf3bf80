import type { TaskEventType } from '../hooks/hook-types.ts';
import { claimContinuation, heldBy } from '../storage/queries/run-queries.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { Continuation } from './continue-locally.ts';
import { settledIn, settleRuns, type SettleBatch } from './settle-run.ts';
import type { EventSubject } from './task-events.ts';
import type { TreeTx } from './tree-tx.ts';

/** A write a run asks for: its progress, how it ended, or the claim of a task started ahead of it. */
export type Report =
  | { kind: 'progress'; subject: EventSubject; message?: string }
  | { kind: 'finish'; row: TaskRow; change: Partial<TaskRow>; type: TaskEventType; message?: string; settled: boolean }
  | { kind: 'claim'; continuation: Continuation };

const subjectOf = (report: Report): EventSubject =>
  report.kind === 'progress' ? report.subject : report.kind === 'claim' ? report.continuation.row : report.row;

/**
 * Writes a batch of reports inside `tx`, in order, under their roots' locks: progress and
 * endings only of tasks this engine still holds (a task cancelled or taken over meanwhile keeps
 * the database's state), continuation claims only if the task is still pending in its run and
 * none of the reports it relied on was refused; then carries the endings through their runs.
 * Returns the tasks refused (whose runs here must stop) and how many tasks became ready.
 */
export async function writeReports(
  tx: TreeTx,
  batch: readonly Report[],
): Promise<{ refused: Set<string>; readied: number }> {
  const refused = new Set<string>();
  if (batch.length === 0) return { refused, readied: 0 };
  await tx.lock(batch.map((report) => subjectOf(report).root_id));
  const held = await heldBy(
    tx.runner,
    batch.filter((report) => report.kind !== 'claim').map((report) => subjectOf(report).id),
    tx.owner,
  );
  const settled: SettleBatch = new Map();
  for (const report of batch) {
    const id = subjectOf(report).id;
    if (report.kind === 'claim') {
      const { row, gates } = report.continuation;
      if (gates.some((gate) => refused.has(gate)) || !(await claimContinuation(tx.sql, tx.runner, row))) {
        refused.add(id);
        continue;
      }
      held.add(id);
      tx.event('task_start', row);
    } else if (!held.has(id)) {
      refused.add(id);
    } else if (report.kind === 'progress') {
      tx.set(id, { progress: report.subject.progress, updated_at: tx.now });
      tx.event('progress', report.subject, report.message);
    } else {
      tx.set(id, report.change);
      tx.event(report.type, report.row, report.message);
      if (report.settled) settledIn(settled, report.row.root_id).push({ id, status: report.row.status });
    }
  }
  return { refused, readied: settled.size ? (await settleRuns(tx, settled)).readied : 0 };
}
