import type { Sql } from '../storage/sql.ts';
import { insertTasks } from '../storage/queries/insert-tasks.ts';
import { cancelledInTrees, settledElsewhere, updateTasks } from '../storage/queries/update-tasks.ts';
import type { TaskChange } from '../storage/queries/task-columns.ts';
import {
  countTasks,
  existingIds,
  listTasks,
  selectChildren,
  selectTask,
  selectTasks,
  selectTree,
  type TaskListFilter,
} from '../storage/queries/select-tasks.ts';
import { adoptTree, findRunningTrees, releaseTree, renewLeases, type RunningTreeLease } from '../storage/queries/leases.ts';
import { deleteTasks } from '../storage/queries/delete-tasks.ts';
import { insertEvents, pruneEvents, selectEvents, sequenceEvents } from '../storage/queries/task-events.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { JournalBatch } from './write-journal.ts';

/**
 * The engine's (and the API's) only way to the task table. Each method is one query module;
 * the claim step lives here so that several servers can share one database through leases.
 */
export function createTaskRepository(sql: Sql) {
  return {
    dialect: sql.dialect,
    get: (id: string) => selectTask(sql, id),
    getMany: (ids: readonly string[]) => selectTasks(sql, ids),
    tree: (rootId: string) => selectTree(sql, rootId),
    children: (parentId: string) => selectChildren(sql, parentId),
    list: (filter: TaskListFilter) => listTasks(sql, filter),
    count: (filter: TaskListFilter) => countTasks(sql, filter),
    existingIds: (ids: readonly string[]) => existingIds(sql, ids),
    /** Inserts a whole tree in one transaction: a rejected tree leaves nothing behind. */
    insertTree: (rows: readonly TaskRow[]) => sql.write((runner) => insertTasks(sql, runner, rows)),
    /**
     * Stores a copied tree and marks its originals `has_copy`, in one transaction: a copy is
     * never half stored, nor an original marked for a copy that does not exist.
     */
    insertCopy: (rows: readonly TaskRow[], originalIds: readonly string[], now: string) =>
      sql.write(async (runner) => {
        await updateTasks(sql, runner, originalIds.map((id) => ({ id, set: { has_copy: true, updated_at: now } })));
        await insertTasks(sql, runner, rows);
      }),
    /** Applies changes in one transaction. */
    update: (changes: readonly TaskChange[]) => sql.write((runner) => updateTasks(sql, runner, changes)),
    delete: (ids: readonly string[]) => sql.write((runner) => deleteTasks(runner, ids)),
    /** Deletes `ids` and applies `changes` (e.g. to their parent) in one transaction. */
    remove: (ids: readonly string[], changes: readonly TaskChange[]) =>
      sql.write(async (runner) => {
        await deleteTasks(runner, ids);
        await updateTasks(sql, runner, changes);
      }),
    /** One journal batch in one transaction; returns the claimed ids refused (settled elsewhere). */
    commit: (batch: JournalBatch) =>
      sql.write(async (runner) => {
        const refused = batch.guarded.length ? await settledElsewhere(runner, batch.guarded) : new Map<string, string | null>();
        const lastSeq = await sequenceEvents(runner, batch.events);
        const changes = refused.size ? batch.changes.filter((change) => !refused.has(change.id)) : batch.changes;
        for (const change of changes) if (lastSeq.has(change.id)) change.set.event_seq = lastSeq.get(change.id);
        await updateTasks(sql, runner, changes);
        await insertEvents(sql, runner, batch.events);
        return refused;
      }),
    /** Takes ownership of a tree to run it; false when a live owner holds it. */
    adoptTree: (rootId: string, owner: string, until: string, now: string, force: boolean) =>
      sql.write((runner) => adoptTree(sql, runner, { rootId, owner, until, now, force })),
    releaseTree: (rootId: string, owner: string) => sql.write((runner) => releaseTree(runner, rootId, owner)),
    renewLeases: (owner: string, until: string) => sql.write((runner) => renewLeases(sql, runner, owner, until)),
    runningTrees: (): Promise<RunningTreeLease[]> => findRunningTrees(sql),
    /** A tree's events after `afterSeq`, oldest first. */
    events: (rootId: string, afterSeq = 0, limit = 10_000) => selectEvents(sql, rootId, afterSeq, limit),
    /** Forgets events older than `before` (ISO time). */
    pruneEvents: (before: string) => sql.write((runner) => pruneEvents(sql, runner, before)),
    /** Tasks of these trees cancelled in the database (by another process, say). */
    cancelledIn: (rootIds: readonly string[]) => cancelledInTrees(sql, rootIds),
  };
}

/** The task repository. */
export type TaskRepository = ReturnType<typeof createTaskRepository>;
