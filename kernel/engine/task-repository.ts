import { groupCalls } from '../internal/group-calls.ts';
import type { Sql, SqlRunner } from '../storage/sql.ts';
import { lockRoots } from '../storage/queries/run-queries.ts';
import { insertStatements, insertTasks } from '../storage/queries/insert-tasks.ts';
import { updateTasks } from '../storage/queries/update-tasks.ts';
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
import { findRunningTrees, type RunningTreeLease } from '../storage/queries/leases.ts';
import { deleteTasks } from '../storage/queries/delete-tasks.ts';
import { selectEvents } from '../storage/queries/task-events.ts';
import { countTreeStatuses } from '../storage/queries/run-counts.ts';
import { selectTreeStarts } from '../storage/queries/tree-starts.ts';
import type { Principal } from '../hooks/hook-types.ts';
import { mayAccess } from '../tasks/access.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TaskSecrets } from '../secrets/task-secrets.ts';

/**
 * The engine's (and the API's) only way to the task table. Each method is one query module;
 * the engine's own transactions (claims, runs, leases) live in kernel/engine.
 */
export function createTaskRepository(sql: Sql, secrets?: TaskSecrets) {
  // Every row is stored with its executor's secret inputs sealed, whichever way it is written.
  const sealRows = (rows: readonly TaskRow[]) => {
    if (secrets) for (const row of rows) row.inputs = secrets.seal(row);
  };
  // A change of inputs, or of what picks the executor (name, params, schemas), seals the inputs
  // the task will have by the executor it will have.
  const picksOrInputs = (set: Partial<TaskRow>) =>
    set.inputs !== undefined || set.name !== undefined || set.params !== undefined || set.schemas !== undefined;
  const sealChanges = async (changes: readonly TaskChange[]): Promise<readonly TaskChange[]> => {
    if (!secrets || !changes.some((change) => picksOrInputs(change.set))) return changes;
    return Promise.all(
      changes.map(async (change) => {
        if (!picksOrInputs(change.set)) return change;
        const row = await get(change.id);
        const { inputs, name, params, schemas } = change.set;
        const task = {
          inputs: inputs !== undefined ? inputs : (row?.inputs ?? null),
          name: name ?? row?.name ?? '',
          params: params !== undefined ? params : (row?.params ?? null),
          schemas: schemas !== undefined ? schemas : (row?.schemas ?? null),
        };
        const sealed = secrets.seal(task);
        return sealed === task.inputs && inputs === undefined
          ? change
          : { ...change, set: { ...change.set, inputs: sealed } };
      }),
    );
  };
  /**
   * Whether the tree rooted at `rootId` runs, read under its root's lock: a run begins under the
   * same lock and reads the tree after taking it, so a change written here before it is in the
   * run, and one asked for after it is refused (never a run on what it read before the change).
   */
  const treeRunning = async (runner: SqlRunner, rootId: string | undefined): Promise<boolean> =>
    rootId !== undefined && (await lockRoots(sql, runner, [rootId])).some((root) => root.run_state === 'running');
  const get = groupCalls<string, TaskRow | null>(async (ids) => {
    if (ids.length === 1) return [await selectTask(sql, ids[0] as string)];
    const found = new Map((await selectTasks(sql, ids)).map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  });
  return {
    dialect: sql.dialect,
    /**
     * `task`'s inputs with its executor's secret inputs sealed, as every write here stores them:
     * for a plugin that keeps a copy of tasks elsewhere (A2A's message history).
     */
    sealInputs: (task: Pick<TaskRow, 'name' | 'params' | 'schemas' | 'inputs'>) =>
      secrets ? secrets.seal(task) : task.inputs,
    /** One task by id. Reads asked for at the same time share one query. */
    get,
    /**
     * One task the caller may read (`mayAccess`), or null — for an unknown id and for someone
     * else's task alike: every surface answers both the same way.
     */
    async visible(id: string, principal: Principal | undefined): Promise<TaskRow | null> {
      const row = await get(id);
      return row && mayAccess(principal, row.user_id) ? row : null;
    },
    getMany: (ids: readonly string[]) => selectTasks(sql, ids),
    tree: (rootId: string) => selectTree(sql, rootId),
    children: (parentId: string) => selectChildren(sql, parentId),
    list: (filter: TaskListFilter) => listTasks(sql, filter),
    count: (filter: TaskListFilter) => countTasks(sql, filter),
    /** The tasks of the tree rooted at `rootId` per status, whatever run they were last in: the tree's outcome. */
    counts: (rootId: string) => countTreeStatuses(sql, rootId),
    /** When each of these trees began: the earliest start of its tasks (a root runs after its children). */
    treeStarts: (rootIds: readonly string[]) => selectTreeStarts(sql, rootIds),
    /** Which of `ids` are taken. Checks asked for at the same time share one query. */
    existingIds: groupCalls<readonly string[], Set<string>>(async (lists) => {
      const taken = await existingIds(sql, lists.flat());
      return lists.map((ids) => new Set(ids.filter((id) => taken.has(id))));
    }),
    /**
     * Inserts a whole tree in one transaction: a rejected tree leaves nothing behind. Trees
     * inserted at the same time share the transaction and its statements.
     */
    insertTree: groupCalls<readonly TaskRow[], void>(async (trees) => {
      const rows = trees.flat();
      sealRows(rows);
      await sql.writeAside(() => insertStatements(sql, rows));
      return trees.map(() => undefined);
    }),
    /**
     * Stores a copied tree and marks its originals `has_copy`, in one transaction: a copy is
     * never half stored, nor an original marked for a copy that does not exist.
     */
    insertCopy: (rows: readonly TaskRow[], originalIds: readonly string[], now: string) => {
      sealRows(rows);
      return sql.write(async (runner) => {
        await updateTasks(
          sql,
          runner,
          originalIds.map((id) => ({ id, set: { has_copy: true, updated_at: now } })),
        );
        await insertTasks(sql, runner, rows);
      });
    },
    /**
     * Applies changes in one transaction. With `unlessRunning` (a tree's root id) only while that
     * tree is not running, checked in the same transaction; returns whether they were applied.
     */
    update: async (changes: readonly TaskChange[], options: TreeGuard = {}): Promise<boolean> => {
      const sealed = await sealChanges(changes);
      return sql.write(async (runner) => {
        if (await treeRunning(runner, options.unlessRunning)) return false;
        await updateTasks(sql, runner, sealed);
        return true;
      });
    },
    delete: (ids: readonly string[]) => sql.write((runner) => deleteTasks(runner, ids)),
    /**
     * Deletes `ids` and applies `changes` (e.g. to their parent) in one transaction; with
     * `unlessRunning`, as {@link update} does. Returns whether it did.
     */
    remove: (ids: readonly string[], changes: readonly TaskChange[], options: TreeGuard = {}): Promise<boolean> =>
      sql.write(async (runner) => {
        if (await treeRunning(runner, options.unlessRunning)) return false;
        await deleteTasks(runner, ids);
        await updateTasks(sql, runner, changes);
        return true;
      }),
    runningTrees: (): Promise<RunningTreeLease[]> => findRunningTrees(sql),
    /** A tree's events after `afterSeq`, oldest first. */
    events: (rootId: string, afterSeq = 0, limit = 10_000) => selectEvents(sql, rootId, afterSeq, limit),
  };
}

/** A write's condition: the tree rooted at `unlessRunning` is not running (see {@link TaskRepository}'s `update`). */
export interface TreeGuard {
  unlessRunning?: string;
}

/** The task repository. */
export type TaskRepository = ReturnType<typeof createTaskRepository>;
