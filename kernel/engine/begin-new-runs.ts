import { randomUUID } from 'node:crypto';
import type { TaskRow } from '../tasks/task-record.ts';
import { intoRun, MIRROR_MAX, RUN_STARTED, type RunBegun, type RunToBegin } from './begin-runs.ts';
import { insertNewTrees } from './insert-new-trees.ts';
import { buildShape, type TreeShape } from './tree-shape.ts';
import type { TreeTx } from './tree-tx.ts';

/** A run to begin on a tree that does not exist yet: `create` holds its rows, root first. */
export type NewRunToBegin = RunToBegin & { create: readonly TaskRow[] };

/**
 * Begins runs on new trees (`engine.execute({ tasks })`) inside `tx`: their rows go in already in
 * the run — run id, pin, demo flag, the root running, the tasks with nothing to wait for
 * claimable — all trees in one statement. A stored tree's start has to lock it, read it, put its
 * tasks into the run and ask which are ready (beginRuns); a new one has nothing to read, no other
 * transaction can see it before the commit, and every task is pending, so which are ready follows
 * from its shape alone: those without children and without required dependencies, as the
 * readiness check in settle-run.ts would find. Returns one answer per start, `null` for a tree
 * whose rows could not all be inserted (an id was taken: see insert-new-trees.ts).
 */
export async function beginNewRuns(
  tx: TreeTx,
  starts: readonly NewRunToBegin[],
): Promise<{ runs: (RunBegun | null)[]; readied: number }> {
  const prepared = starts.map((start) => enterRun(tx, start));
  const failed = await insertNewTrees(
    tx,
    starts.map((start) => start.create),
  );
  let readied = 0;
  const runs = starts.map((start, i): RunBegun | null => {
    if (failed.has(i)) return null;
    const { runId, shape, ready } = prepared[i] as ReturnType<typeof enterRun>;
    const root = start.create[0] as TaskRow;
    tx.roots.set(root.id, {
      id: root.id,
      event_seq: 0,
      run_id: runId,
      run_state: 'running',
      status: root.status,
      shape_rev: 0,
    });
    tx.shapes.put(root.id, runId, 0, shape);
    const first = tx.event('progress', root, RUN_STARTED);
    readied += ready;
    return {
      begun: true,
      rootId: root.id,
      runId,
      firstSeq: first.seq,
      endedAtOnce: false,
      ...(start.create.length <= MIRROR_MAX
        ? { memory: { shape, pinnedTo: start.pinnedTo, rows: [...start.create] } }
        : {}),
    };
  });
  return { runs, readied };
}

/** Puts a new tree's rows (all pending) into a run before they are inserted; returns the run and how many are ready. */
function enterRun(tx: TreeTx, start: NewRunToBegin): { runId: string; shape: TreeShape; ready: number } {
  const runId = randomUUID();
  const root = start.create[0] as TaskRow;
  let ready = 0;
  for (const row of start.create) intoRun(row, start, runId);
  root.run_state = 'running';
  root.active_run = runId;
  const shape = buildShape(start.create, runId);
  for (const row of start.create) {
    if (shape.children.has(row.id) || shape.requires.has(row.id)) continue;
    row.ready_at = tx.now;
    ready++;
  }
  return { runId, shape, ready };
}
