import { beginNewRuns, type NewRunToBegin, type NewTreeClaims } from './begin-new-runs.ts';
import { beginRuns, type RunBegun, type RunToBegin } from './begin-runs.ts';
import type { TreeTx } from './tree-tx.ts';

/** A run to begin with the next turn, and who waits for the answer. */
export interface PendingBegin {
  run: RunToBegin;
  /** Called with the answer once committed, before any task of the run is launched here. */
  answer: (begun: RunBegun) => void;
  failed: (error: unknown) => void;
}

/**
 * Begins the runs a turn was asked for, inside `tx`: new trees go in already begun
 * (begin-new-runs.ts), stored ones are locked, read and begun together (begin-runs.ts). Returns
 * the begins begun with their answers, in the same order; those whose new tree was not inserted
 * (an id was taken: not begun); how many tasks they left ready; and the tasks new trees went in
 * claimed by this engine.
 */
export async function beginAll(tx: TreeTx, begin: readonly PendingBegin[], claims: NewTreeClaims) {
  const creating = begin.filter((pending) => pending.run.create);
  const stored = creating.length ? begin.filter((pending) => !pending.run.create) : begin;
  const fresh = await beginNewRuns(
    tx,
    creating.map((pending) => pending.run as NewRunToBegin),
    claims,
  );
  const inserted: PendingBegin[] = [];
  const notInserted = new Set<PendingBegin>();
  creating.forEach((pending, i) => {
    if (fresh.runs[i] === null) notInserted.add(pending);
    else inserted.push(pending);
  });
  const begun = stored.length
    ? await beginRuns(
        tx,
        stored.map((pending) => pending.run),
      )
    : { runs: [], readied: 0 };
  return {
    starting: [...inserted, ...stored],
    runs: [...fresh.runs.filter((run): run is RunBegun => run !== null), ...begun.runs],
    notInserted,
    readied: begun.readied + fresh.readied,
    taken: fresh.claimed,
  };
}
