import { deleteTasks } from '../storage/queries/delete-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { RunToBegin } from './begin-runs.ts';
import { executionScope } from './run-rules.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * A new run starts from the tree as it was created: the tasks earlier runs spawned under the
 * tasks it runs again are deleted (their spawners spawn afresh), inside the beginning
 * transaction, and left out of `trees`. A spawner left without children says so.
 */
export async function dropSpawned(
  tx: TreeTx,
  starts: readonly RunToBegin[],
  rootOf: ReadonlyMap<string, string>,
  trees: Map<string, TaskRow[]>,
): Promise<void> {
  const doomed: string[] = [];
  for (const start of starts) {
    const rootId = rootOf.get(start.taskId);
    const rows = rootId === undefined ? undefined : trees.get(rootId);
    if (
      start.resume ||
      !rows?.some((row) => row.spawned_by !== null) ||
      tx.roots.get(rootId as string)?.run_state === 'running'
    )
      continue;
    const scope = start.taskId === rootId ? null : executionScope(rows, start.taskId);
    const gone = new Set(
      rows.filter((row) => row.spawned_by !== null && (!scope || scope.has(row.spawned_by))).map((row) => row.id),
    );
    // What the dropped tasks spawned, and their children, go with them (deletes do not cascade).
    for (let grew = gone.size > 0; grew;) {
      grew = false;
      for (const row of rows)
        if (
          !gone.has(row.id) &&
          ((row.spawned_by && gone.has(row.spawned_by)) || (row.parent_id && gone.has(row.parent_id)))
        ) {
          gone.add(row.id);
          grew = true;
        }
    }
    if (gone.size === 0) continue;
    const kept = rows.filter((row) => !gone.has(row.id));
    for (const spawner of new Set(rows.flatMap((row) => (gone.has(row.id) ? [row.spawned_by as string] : []))))
      if (!kept.some((row) => row.parent_id === spawner)) {
        tx.set(spawner, { has_children: false });
        const row = kept.find((candidate) => candidate.id === spawner);
        if (row) row.has_children = false;
      }
    trees.set(rootId as string, kept);
    doomed.push(...gone);
  }
  await deleteTasks(tx.runner, doomed);
}
