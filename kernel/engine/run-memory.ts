import type { TaskRow } from '../tasks/task-record.ts';
import { followOnsAfter, type FollowOn } from './follow-ons.ts';
import type { TreeShape } from './tree-shape.ts';

/** What this engine remembers of one run it began: the run's shape and its rows as last known here. */
export interface RememberedRun {
  shape: TreeShape;
  /** The engine the run is pinned to, if any: only that engine may claim follow-ons. */
  pinnedTo: string | null;
  rows: ReadonlyMap<string, Readonly<TaskRow>>;
}

/**
 * The status moves the memory accepts. Anything else means this engine's picture is wrong: the row
 * is forgotten, which is always safe (an unknown row blocks follow-ons; the database decides).
 */
const MOVES: Readonly<Record<string, readonly string[]>> = {
  pending: ['in_progress'],
  in_progress: ['completed', 'failed', 'pending'],
};

/** How many runs are remembered at most (the oldest is forgotten first). */
const MAX_RUNS = 256;

/**
 * The engine's memory of the runs it began on trees small enough to keep (see begin-runs.ts): it
 * is what lets a task that completes here claim what it unblocks in the same turn, without
 * reading the tree again. It is the only thing that changes those rows, through the named moves
 * below, so what it may believe is easy to state and test:
 * - it holds only this engine's own claims and endings, applied in the order they happen;
 * - a status moves forward only (pending → in_progress → ended, or back to pending for a retry);
 * - a row whose write was refused (cancelled or taken over elsewhere) is forgotten, never guessed.
 * What other engines did it does not know; follow-ons therefore wait on gates (see follow-ons.ts).
 */
export function createRunMemory(max = MAX_RUNS) {
  const runs = new Map<string, { shape: TreeShape; pinnedTo: string | null; rows: Map<string, TaskRow> }>();
  const key = (rootId: string, runId: string) => `${rootId}\n${runId}`;
  const runOf = (row: Pick<TaskRow, 'root_id' | 'run_id'>) =>
    row.run_id ? runs.get(key(row.root_id, row.run_id)) : undefined;

  /** Moves a remembered row to `status` (with `change`), or forgets it when the move is not allowed. */
  const move = (row: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>, status: string, change: Partial<TaskRow> = {}) => {
    const run = runOf(row);
    const known = run?.rows.get(row.id);
    if (!run || !known) return false;
    if (!(MOVES[known.status] ?? []).includes(status)) {
      run.rows.delete(row.id);
      return false;
    }
    Object.assign(known, change, { status });
    return true;
  };

  return {
    /** Remembers a run this engine just began (its rows as the beginning transaction left them). */
    remember(rootId: string, runId: string, shape: TreeShape, pinnedTo: string | null, rows: readonly TaskRow[]): void {
      runs.set(key(rootId, runId), { shape, pinnedTo, rows: new Map(rows.map((row) => [row.id, { ...row }])) });
      if (runs.size > max) runs.delete(runs.keys().next().value as string);
    },
    /** A task of a remembered run was claimed by this engine. */
    claimed: (row: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>) => move(row, 'in_progress'),
    /** A task of a remembered run ended here (completed, failed, or back to pending for a retry). */
    ended: (row: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>, change: Partial<TaskRow> & { status: string }) =>
      move(row, change.status, change),
    /** A follow-on found no free slot: it stays pending. */
    released: (row: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>) => {
      const known = runOf(row)?.rows.get(row.id);
      if (known?.status === 'in_progress') known.status = 'pending';
    },
    /** A write about this task was refused: what this engine believed of it is wrong. */
    forget(row: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>): void {
      runOf(row)?.rows.delete(row.id);
    },
    /**
     * The tasks `completed` (just completed here) unblocks, as claims for this engine (see
     * {@link followOnsAfter}); each is marked claimed in memory at once, so it is offered once.
     */
    followOns(completed: Pick<TaskRow, 'id' | 'root_id' | 'run_id'>, claim: FollowOnClaim): FollowOn[] {
      const run = runOf(completed);
      if (!run || (run.pinnedTo !== null && run.pinnedTo !== claim.lease_owner)) return [];
      const found = followOnsAfter(run, completed.id, claim);
      for (const followOn of found) move(followOn.row, 'in_progress');
      return found;
    },
    /** A run ended: nothing more to remember of it. */
    drop(rootId: string, runId: string): void {
      runs.delete(key(rootId, runId));
    },
    /** What is remembered of a run (read only; for tests and diagnostics). */
    recall(rootId: string, runId: string): RememberedRun | undefined {
      return runs.get(key(rootId, runId));
    },
  };
}

/** The lease a follow-on is claimed with. */
export type FollowOnClaim = Pick<TaskRow, 'lease_owner' | 'lease_expires_at' | 'started_at'>;

/** The engine's memory of the runs it began. */
export type RunMemory = ReturnType<typeof createRunMemory>;
