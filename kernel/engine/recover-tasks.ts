import type { TaskLease } from '../storage/queries/leases.ts';
import { heldBy, selectRowsIn } from '../storage/queries/run-queries.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { INTERRUPTED, recoverOrphan } from './run-rules.ts';
import { settleAndWake, settledIn, type SettleBatch } from './settle-run.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * Takes back tasks whose engine stopped (its lease expired, or its process is gone) inside `tx`:
 * each goes back to the queue if it has a retry left, else fails ("interrupted") and its run
 * goes on without it. A lease renewed meanwhile (the engine was only slow) is left alone.
 */
export async function recoverTasks(tx: TreeTx, leases: readonly TaskLease[]): Promise<number> {
  await tx.lock(leases.map((lease) => lease.root_id));
  const seen = new Map(leases.map((lease) => [lease.id, lease]));
  const settled: SettleBatch = new Map();
  let recovered = 0;
  for (const row of await selectRowsIn(tx.sql, tx.runner, [...seen.keys()])) {
    const lease = seen.get(row.id) as TaskLease;
    if (
      row.status !== 'in_progress' ||
      row.lease_owner !== lease.lease_owner ||
      row.lease_expires_at !== lease.lease_expires_at
    )
      continue;
    const change: Partial<TaskRow> = recoverOrphan(row);
    if (change.status === 'pending') change.ready_at = tx.now;
    Object.assign(row, change);
    tx.set(row.id, change);
    recovered++;
    if (change.status === 'failed') {
      tx.event('task_failed', row);
      settledIn(settled, row.root_id).push({ id: row.id, status: 'failed' });
    } else {
      tx.event('progress', row, `${INTERRUPTED}; it goes back to the queue`);
      tx.notes.wake = true;
    }
  }
  await settleAndWake(tx, settled);
  return recovered;
}

/**
 * Hands tasks this engine runs back to the queue (it is stopping): pending again, claimable at
 * once by any engine, the attempt not counted. Tasks it no longer holds are left alone.
 */
export async function handBackTasks(tx: TreeTx, rows: readonly TaskRow[]): Promise<void> {
  await tx.lock(rows.map((row) => row.root_id));
  const held = await heldBy(
    tx.sql,
    tx.runner,
    rows.map((row) => row.id),
    tx.owner,
  );
  for (const row of rows) {
    if (!held.has(row.id)) continue;
    const change: Partial<TaskRow> = {
      status: 'pending',
      attempts: Math.max(0, row.attempts - 1),
      started_at: null,
      lease_owner: null,
      lease_expires_at: null,
      ready_at: tx.now,
      updated_at: tx.now,
    };
    tx.set(row.id, change);
    tx.event('progress', { ...row, ...change }, 'The server running this task is stopping; it goes back to the queue');
    tx.notes.wake = true;
  }
}
