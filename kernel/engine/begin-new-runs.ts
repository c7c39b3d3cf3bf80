import { randomUUID } from 'node:crypto';
import type { TaskRow } from '../tasks/task-record.ts';
import { intoRun, MIRROR_MAX, RUN_STARTED, type RunBegun, type RunToBegin } from './begin-runs.ts';
import { insertNewTrees } from './insert-new-trees.ts';
import { buildShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/** A run to begin on a tree that does not exist yet: `create` holds its rows, root first. */
export type NewRunToBegin = RunToBegin & { create: readonly TaskRow[] };

/** What this engine may take of the new trees' ready tasks as they go in. */
export interface NewTreeClaims {
  /** Free slots for them; 0 when a claim must count running tasks (per-user or cluster limits). */
  slots: number;
  /** Lease expiry for the tasks taken (ISO). */
  leaseUntil: string;
}

/**
 * Begins runs on new trees (`engine.execute({ tasks })`) inside `tx`: their rows go in already in
 * the run — run id, pin, demo flag, the root running, the tasks with nothing to wait for
 * claimable — all trees in one statement. A stored tree's start has to lock it, read it, put its
 * tasks into the run and ask which are ready (beginRuns); a new one has nothing to read, no other
 * transaction can see it before the commit, and every task is pending, so which are ready follows
 * from its shape alone: those without children and without required dependencies, as the
 * readiness check in settle-run.ts would find.
 *
 * Ready tasks without dependencies go in claimed by this engine while `claims.slots` last (what
 * claimReady would write: running, leased, one attempt), with their `task_start` events, and the
 * root's event counter goes in final: a job's start is its insert, no claim and no counter update
 * after it. The others go in ready (`ready_at`), for the turn's claim. Returns one answer per
 * start, `null` for a tree whose rows could not all be inserted (an id was taken: see
 * insert-new-trees.ts), the number of tasks left ready, and the tasks claimed.
 */
export async function beginNewRuns(
  tx: TreeTx,
  starts: readonly NewRunToBegin[],
  claims: NewTreeClaims,
): Promise<{ runs: (RunBegun | null)[]; readied: number; claimed: TaskRow[] }> {
  let slots = claims.slots;
  const prepared = starts.map((start) => {
    const entered = enterRun(tx, start, slots, claims.leaseUntil);
    slots -= entered.claimed.length;
    return entered;
  });
  const failed = await insertNewTrees(
    tx,
    prepared.map((entered) => entered.rows),
  );
  let readied = 0;
  const claimed: TaskRow[] = [];
  const runs = starts.map((start, i): RunBegun | null => {
    if (failed.has(i)) return null;
    const { runId, shape, ready, rows, claimed: taken } = prepared[i] as ReturnType<typeof enterRun>;
    const root = rows[0] as TaskRow;
    tx.holdNew(
      { id: root.id, event_seq: 0, run_id: runId, run_state: 'running', status: root.status, shape_rev: 0 },
      root.event_seq,
    );
    tx.shapes.put(root.id, runId, 0, shape);
    const first = tx.event('progress', root, RUN_STARTED);
    for (const row of taken) tx.event('task_start', row);
    readied += ready;
    claimed.push(...taken);
    return {
      begun: true,
      rootId: root.id,
      runId,
      firstSeq: first.seq,
      endedAtOnce: false,
      ...(rows.length <= MIRROR_MAX ? { memory: { shape, pinnedTo: start.pinnedTo, rows } } : {}),
    };
  });
  return { runs, readied, claimed };
}

/**
 * Puts a new tree's rows (all pending) into a run before they are inserted, taking up to `slots`
 * of its ready tasks for this engine. Returns the rows to insert (the taken ones as copies: the
 * caller's rows stay as it made them), the run, how many are left ready and which were taken.
 */
function enterRun(tx: TreeTx, start: NewRunToBegin, slots: number, leaseUntil: string) {
  const runId = randomUUID();
  const root = start.create[0] as TaskRow;
  let ready = 0;
  for (const row of start.create) intoRun(row, start, runId);
  root.run_state = 'running';
  root.active_run = runId;
  const shape = buildShape(start.create, runId);
  const claimed: TaskRow[] = [];
  const rows = start.create.map((row) => {
    if (shape.children.has(row.id) || shape.requires.has(row.id)) return row;
    // A task with dependencies has their results merged in at its claim (claim-ready.ts).
    if (claimed.length < slots && !row.dependencies?.length) {
      const taken: TaskRow = {
        ...row,
        status: 'in_progress',
        started_at: tx.now,
        updated_at: tx.now,
        attempts: row.attempts + 1,
        next_attempt_at: null,
        lease_owner: tx.owner,
        lease_expires_at: leaseUntil,
      };
      claimed.push(taken);
      return taken;
    }
    row.ready_at = tx.now;
    ready++;
    return row;
  });
  // Its run's first event, then each taken task's task_start: the counter as it ends this turn.
  const first = rows[0] as TaskRow;
  const stored = first === root ? { ...root } : first;
  stored.event_seq = 1 + claimed.length;
  rows[0] = stored;
  return { runId, shape, ready, claimed, rows };
}
