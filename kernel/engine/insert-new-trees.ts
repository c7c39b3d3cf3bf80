import { deleteTasks } from '../storage/queries/delete-tasks.ts';
import { insertFreeTasks, insertTasks } from '../storage/queries/insert-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * Inserts the trees of runs that create and begin in one turn (`engine.execute({ tasks })`), all
 * in one statement that leaves out rows whose id is taken. A tree that lost a row that way (an id
 * taken meanwhile, by another server's tree or by another tree of this turn) is removed again and
 * reported: its run is answered with {@link TreesNotInserted}, so its caller creates it the
 * ordinary way (fresh ids for taken ones). Returns the indexes of the trees not inserted.
 *
 * In a write made at once (`tx.atOnce`) nothing is read back: a taken id fails the whole write,
 * and the work loop begins its runs again in an ordinary turn.
 */
export async function insertNewTrees(tx: TreeTx, trees: readonly (readonly TaskRow[])[]): Promise<Set<number>> {
  const failed = new Set<number>();
  if (trees.length === 0) return failed;
  if (tx.atOnce) {
    await insertTasks(tx.sql, tx.runner, trees.flat());
    return failed;
  }
  const inserted = await insertFreeTasks(tx.sql, tx.runner, trees.flat());
  // Rows go in in order: an id given twice in the statement was stored for its first tree only.
  const storedFor = new Map<string, number>();
  trees.forEach((rows, i) => {
    for (const row of rows) if (inserted.has(row.id) && !storedFor.has(row.id)) storedFor.set(row.id, i);
  });
  const leftOver: string[] = [];
  trees.forEach((rows, i) => {
    if (rows.every((row) => storedFor.get(row.id) === i)) return;
    failed.add(i);
    for (const row of rows) if (storedFor.get(row.id) === i) leftOver.push(row.id);
  });
  if (leftOver.length) await deleteTasks(tx.runner, leftOver);
  return failed;
}

/** The tree of a run to create and begin could not be inserted: create it the ordinary way. */
export class TreesNotInserted extends Error {
  constructor() {
    super('the new tree was not inserted with the turn: an id was taken');
  }
}
