import { markReady, pendingCandidates, runHasWork, selectRowsIn, selectStates } from '../storage/queries/run-queries.ts';
import type { TreeTx } from './tree-tx.ts';
import { TERMINAL_STATUSES } from '../tasks/task-record.ts';

/** A task that reached a terminal state (or was found in one) in this transaction. */
export interface SettledTask {
  id: string;
  status: string;
}

/** What settling changed in a run. */
export interface RunSettlement {
  /** Tasks made claimable. */
  readied: number;
  /** The run has nothing left: its `final` event was appended and the tree is no longer running. */
  finished: boolean;
}

const because = (status: string) => (status === 'cancelled' ? 'was cancelled' : status === 'failed' ? 'failed' : 'did not complete');

/**
 * Carries settled tasks through the tree's active run, inside the transaction that holds its
 * root: dependents of a task that did not complete fail ("dependency X failed"), tasks with
 * nothing left to wait for (required dependencies completed, children of the run settled) are
 * made claimable, and a run with nothing left ends with its `final` event. `candidates` are
 * further tasks to check (a run's start checks all of them). Whoever settles a task does this,
 * on whichever server, so no server owns a tree.
 */
export async function settleRun(tx: TreeTx, rootId: string, settled: readonly SettledTask[], candidates: Iterable<string> = []): Promise<RunSettlement> {
  const run = await tx.runShape(rootId);
  if (!run) return { readied: 0, finished: false };
  const { shape, runId } = run;
  const check = new Set(candidates);
  let rootSettled = false;
  for (let wave = settled; wave.length > 0; ) {
    const doomed = new Map<string, string>();
    for (const { id, status } of wave) {
      if (id === rootId) rootSettled = true;
      if (!shape.inRun.has(id)) continue;
      for (const dependent of shape.dependents.get(id) ?? []) {
        if (!dependent.required || !shape.inRun.has(dependent.id)) continue;
        if (status === 'completed') check.add(dependent.id);
        else if (!doomed.has(dependent.id)) doomed.set(dependent.id, `dependency ${id} ${because(status)}`);
      }
      const parent = shape.parent.get(id);
      if (parent && shape.inRun.has(parent)) check.add(parent);
    }
    wave = [];
    if (doomed.size === 0) break;
    await tx.sync();
    const next: SettledTask[] = [];
    for (const row of await selectStates(tx.runner, [...doomed.keys()], ['pending'])) {
      const error = doomed.get(row.id) as string;
      tx.set(row.id, { status: 'failed', error, completed_at: tx.now, updated_at: tx.now, ready_at: null, next_attempt_at: null });
      tx.event('task_failed', { ...row, status: 'failed', error });
      check.delete(row.id);
      next.push({ id: row.id, status: 'failed' });
    }
    wave = next;
  }
  const readied = await readyThose(tx, runId, [...check].filter((id) => shape.inRun.has(id)), (id) => shape.requires.get(id) ?? []);
  // A whole-tree run lasts at least as long as its root: while the root is not settled, there is
  // no need to look for what is left.
  const rootWaits = shape.inRun.has(rootId) && !rootSettled && !TERMINAL_STATUSES.has(tx.roots.get(rootId)?.status ?? '');
  const finished = rootWaits ? false : await finishIfDone(tx, rootId, runId);
  return { readied, finished };
}

/** Of `ids`, marks claimable the pending ones with nothing left to wait for; returns how many. */
async function readyThose(tx: TreeTx, runId: string, ids: readonly string[], requires: (id: string) => readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  await tx.sync();
  const open = (await pendingCandidates(tx.runner, ids, runId)).filter((row) => !row.waiting).map((row) => row.id);
  if (open.length === 0) return 0;
  const depIds = new Set(open.flatMap((id) => requires(id)));
  const completed = new Set((await selectStates(tx.runner, [...depIds], ['completed'])).map((row) => row.id));
  const ready = open.filter((id) => requires(id).every((dep) => completed.has(dep)));
  await markReady(tx.sql, tx.runner, ready, tx.now);
  return ready.length;
}

/** Ends the run when none of its tasks is left to settle: `final` event, tree no longer running. */
async function finishIfDone(tx: TreeTx, rootId: string, runId: string): Promise<boolean> {
  await tx.sync();
  if (await runHasWork(tx.runner, rootId, runId)) return false;
  const [root] = await selectRowsIn(tx.runner, [rootId]);
  if (!root) return false;
  const lock = tx.roots.get(rootId);
  if (lock) lock.run_state = null;
  tx.set(rootId, { run_state: null, active_run: null });
  tx.event('final', root);
  return true;
}
