import {
  fromDatabaseRow,
  UNFINISHED_STATUSES,
  type TaskDependency,
  type TaskRow,
  type TaskStatus,
} from '../../tasks/task-record.ts';
import { jsonParam, type Sql, type SqlRunner } from '../sql.ts';
import { byIds, chunks, placeholders as marks, statusAmong, taskColumns } from './task-columns.ts';

/** What the engine reads of a tree root before changing the tree: its run and event counter. */
export interface RootLock {
  id: string;
  event_seq: number;
  /** The tree's run under way (`active_run`). */
  run_id: string | null;
  run_state: string | null;
  /** The root task's own status. */
  status: string;
  /** Bumped when a spawn adds tasks to the run: the run's shape changed. */
  shape_rev: number;
}

/** The columns of a task its run's bookkeeping needs (not its inputs or result). */
export interface TaskState {
  id: string;
  root_id: string;
  status: TaskStatus;
  progress: number;
  error: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  params: Record<string, unknown> | null;
  attempts: number;
}

/** One task's place in its tree, as a run sees it. */
export interface TaskPlace {
  id: string;
  parent_id: string | null;
  dependencies: TaskDependency[] | null;
  run_id: string | null;
}

/**
 * Locks the roots of trees about to change (their rows, in id order so two writers never wait
 * for each other in a circle) and reads their run and event counter. With `skipLocked`, roots
 * another transaction holds are left out instead of waited for. SQLite's write transaction is
 * the lock there.
 */
export function lockRoots(
  sql: Sql,
  runner: SqlRunner,
  ids: readonly string[],
  skipLocked = false,
): Promise<RootLock[]> {
  const tail = sql.dialect === 'postgres' ? (skipLocked ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE') : '';
  return byIds([...ids].sort(), async (chunk) => {
    const [ids, params] = sql.among('id', chunk);
    const rows = await runner.select<RootLock>(
      `SELECT id, event_seq, active_run AS run_id, run_state, status, shape_rev FROM apflow_tasks WHERE ${ids} ORDER BY id${tail}`,
      params,
    );
    return rows.map((row) => ({ ...row, event_seq: Number(row.event_seq), shape_rev: Number(row.shape_rev) }));
  });
}

/**
 * Locks the roots of the trees of `taskIds` and reads them as {@link lockRoots} does, finding the
 * roots in the same statement (one round trip for a run's start); tasks not found are left out.
 * Beyond one statement's worth, the roots are found first and locked after, still in id order.
 */
export async function lockRootsOf(
  sql: Sql,
  runner: SqlRunner,
  taskIds: readonly string[],
): Promise<{ roots: RootLock[]; rootOf: Map<string, string> }> {
  const ids = [...new Set(taskIds)];
  if (ids.length > 500) {
    const rootOf = new Map(
      (
        await byIds(ids, (chunk) =>
          runner.select<{ id: string; root_id: string }>(
            `SELECT id, root_id FROM apflow_tasks WHERE id IN (${marks(chunk)})`,
            chunk,
          ),
        )
      ).map((row) => [row.id, row.root_id]),
    );
    return { roots: await lockRoots(sql, runner, [...new Set(rootOf.values())]), rootOf };
  }
  const tail = sql.dialect === 'postgres' ? ' FOR UPDATE OF r' : '';
  const [among, params] = sql.among('t.id', ids);
  const rows = await runner.select<RootLock & { task_id: string }>(
    `SELECT r.id, r.event_seq, r.active_run AS run_id, r.run_state, r.status, r.shape_rev, t.id AS task_id
       FROM apflow_tasks t JOIN apflow_tasks r ON r.id = t.root_id WHERE ${among} ORDER BY r.id${tail}`,
    params,
  );
  const roots = new Map<string, RootLock>();
  for (const { task_id: _task, ...root } of rows)
    roots.set(root.id, { ...root, event_seq: Number(root.event_seq), shape_rev: Number(root.shape_rev) });
  return { roots: [...roots.values()], rootOf: new Map(rows.map((row) => [row.task_id, row.id])) };
}

/** Whole rows by id, read inside a transaction. */
export function selectRowsIn(sql: Sql, runner: SqlRunner, ids: readonly string[]): Promise<TaskRow[]> {
  return byIds(ids, async (chunk) => {
    const [among, params] = sql.among('id', chunk);
    return (await runner.select(`SELECT ${taskColumns()} FROM apflow_tasks WHERE ${among}`, params)).map(
      fromDatabaseRow,
    );
  });
}

/**
 * Every row of these trees, read inside a transaction, each tree in creation order. With `light`,
 * only what a run's start needs (no inputs, results or schemas: they can be big, and a big tree
 * has many).
 */
export async function selectTreesIn(runner: SqlRunner, rootIds: readonly string[], light = false): Promise<TaskRow[]> {
  const columns = light
    ? 'id, parent_id, root_id, user_id, name, status, priority, dependencies, params, progress, error, attempts, lease_owner, lease_expires_at, next_attempt_at, ready_at, run_id, position, spawned_by, has_children'
    : taskColumns();
  const rows = await byIds(rootIds, (chunk) =>
    runner.select(
      `SELECT ${columns} FROM apflow_tasks WHERE root_id IN (${marks(chunk)}) ORDER BY root_id, position`,
      chunk,
    ),
  );
  return rows.map(fromDatabaseRow);
}

/**
 * Every row of those of these trees that have at most `max` tasks, read inside a transaction,
 * each tree in creation order (one statement: the sizes are counted in it). Bigger trees are
 * left out (read them light with {@link selectTreesIn}). Written to go from the roots by key and
 * count each tree through its index, whatever the planner knows of the table (a fresh one has no
 * statistics, and an `IN` list over `root_id` then reads the whole table).
 */
export async function selectSmallTreesIn(
  runner: SqlRunner,
  rootIds: readonly string[],
  max: number,
): Promise<TaskRow[]> {
  const rows = await byIds(rootIds, (chunk) =>
    runner.select(
      `WITH small AS (SELECT r.id FROM apflow_tasks r WHERE r.id IN (${marks(chunk)}) AND (SELECT COUNT(*) FROM apflow_tasks c WHERE c.root_id = r.id) <= ?)
       SELECT ${taskColumns('t.')} FROM small JOIN apflow_tasks t ON t.root_id = small.id ORDER BY t.root_id, t.position`,
      [...chunk, max],
    ),
  );
  return rows.map(fromDatabaseRow);
}

/** The run bookkeeping columns of `ids`, those with `status` in `statuses` (all when empty). */
export function selectStates(
  sql: Sql,
  runner: SqlRunner,
  ids: readonly string[],
  statuses: readonly string[] = [],
): Promise<TaskState[]> {
  const filter = statuses.length ? ` AND ${statusAmong(statuses)}` : '';
  return byIds(ids, async (chunk) => {
    const [among, params] = sql.among('id', chunk);
    const rows = await runner.select<Record<string, unknown>>(
      `SELECT id, root_id, status, progress, error, lease_owner, lease_expires_at, params, attempts FROM apflow_tasks WHERE ${among}${filter}`,
      params,
    );
    return rows.map((row) => {
      const full = fromDatabaseRow({ ...row });
      return {
        id: full.id,
        root_id: full.root_id,
        status: full.status,
        progress: full.progress,
        error: full.error,
        lease_owner: full.lease_owner,
        lease_expires_at: full.lease_expires_at,
        params: full.params,
        attempts: full.attempts,
      };
    });
  });
}

/** Where every task of a tree sits (parent, dependencies, run), read inside a transaction. */
export async function selectPlaces(runner: SqlRunner, rootId: string): Promise<TaskPlace[]> {
  const rows = await runner.select<Record<string, unknown>>(
    'SELECT id, parent_id, dependencies, run_id FROM apflow_tasks WHERE root_id = ?',
    [rootId],
  );
  return rows.map((row) => ({
    id: row.id as string,
    parent_id: (row.parent_id as string | null) ?? null,
    dependencies: (typeof row.dependencies === 'string' ? JSON.parse(row.dependencies) : (row.dependencies ?? null)) as
      TaskDependency[] | null,
    run_id: (row.run_id as string | null) ?? null,
  }));
}

/** The unfinished statuses as a plain `IN` list, for probes that should seek a status index. */
const unfinished = UNFINISHED_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * Of `ids`, the tasks still waiting to be made ready (pending, not ready yet), each with whether
 * an unfinished child in its run still holds it back. The probe stops at the first unfinished
 * child and reads the `(parent_id, status)` index backwards from the end of the parent's range:
 * the unfinished statuses sort after every finished one, so their entries come before any
 * finished child's (reading forwards past them, a parent of 10,000 whose children end in order
 * cost a probe that grew with each turn: O(n²) over its run), newest first. On PostgreSQL the
 * oldest `pending` and `in_progress` entries are those of children claimed or ended since,
 * whose row versions are dead or (ended in this very transaction) invisible but still indexed,
 * each a heap visit; children are claimed in the order they were made, so the newest `pending`
 * entry is a child still waiting (a 10,000-task tree's probe: 0.94 → 0.06 ms a turn, measured
 * with pg_stat_statements; bench/README.md). The status is a plain `IN`, not
 * {@link statusAmong}'s (hidden from indexes): a planner free to sort seeks it.
 */
export async function pendingCandidates(
  sql: Sql,
  runner: SqlRunner,
  ids: readonly string[],
): Promise<{ id: string; waiting: boolean }[]> {
  const rows = await byIds(ids, (chunk) => {
    const [among, params] = sql.among('p.id', chunk);
    return runner.select<{ id: string; waiting: number | boolean }>(
      `SELECT p.id, (SELECT 1 FROM apflow_tasks c WHERE c.parent_id = p.id AND c.status IN (${unfinished}) AND c.run_id = p.run_id ORDER BY c.status DESC LIMIT 1) IS NOT NULL AS waiting
         FROM apflow_tasks p WHERE ${among} AND ${statusAmong(['pending'], 'p.status')} AND p.ready_at IS NULL`,
      params,
    );
  });
  return rows.map((row) => ({ id: row.id, waiting: row.waiting === true || Number(row.waiting) === 1 }));
}

/** Marks `ids` claimable from `at` on, if they are still pending (call inside `sql.write`). */
export async function markReady(sql: Sql, runner: SqlRunner, ids: readonly string[], at: string): Promise<void> {
  await byIds(ids, async (chunk) => {
    const [among, params] = sql.among('id', chunk);
    await runner.run(
      `UPDATE apflow_tasks SET ready_at = ${sql.time} WHERE ${among} AND ${statusAmong(['pending'])} AND ready_at IS NULL`,
      [at, ...params],
    );
    return [];
  });
}

/**
 * Of these runs ([root id, run id]), the roots whose run has a task left to settle: one index
 * probe per run, all in one statement (the `LIMIT 1` subquery keeps the planner from turning the
 * probes into a join over every pending task; the plain status `IN` seeks the `(root_id, status)`
 * index to the unfinished tasks, as in {@link pendingCandidates}).
 */
export async function runsWithWork(
  sql: Sql,
  runner: SqlRunner,
  runs: readonly (readonly [string, string])[],
): Promise<Set<string>> {
  const busy = new Set<string>();
  for (const chunk of chunks(runs, 250)) {
    const [from, params] = sql.table('v', ['text', 'text'], chunk);
    const rows = await runner.select<{ root_id: string }>(
      `SELECT v.column1 AS root_id FROM ${from}
        WHERE (SELECT 1 FROM apflow_tasks t WHERE t.root_id = v.column1 AND t.status IN (${unfinished}) AND t.run_id = v.column2 LIMIT 1) IS NOT NULL`,
      params,
    );
    for (const row of rows) busy.add(row.root_id);
  }
  return busy;
}

/** Of `ids`, the tasks `owner` still holds (running under its lease), read inside a transaction. */
export async function heldBy(sql: Sql, runner: SqlRunner, ids: readonly string[], owner: string): Promise<Set<string>> {
  const rows = await byIds(ids, (chunk) => {
    const [among, params] = sql.among('id', chunk);
    return runner.select<{ id: string }>(
      `SELECT id FROM apflow_tasks WHERE ${among} AND status = 'in_progress' AND lease_owner = ?`,
      [...params, owner],
    );
  });
  return new Set(rows.map((row) => row.id));
}

/**
 * Writes the claim of a follow-on (see kernel/engine/follow-ons.ts), if the task is still
 * pending in the same run. Returns whether it held.
 */
export async function claimFollowOn(sql: Sql, runner: SqlRunner, row: TaskRow): Promise<boolean> {
  const rows = await runner.select(
    `UPDATE apflow_tasks SET status = 'in_progress', inputs = ${sql.json}, started_at = ${sql.time}, updated_at = ${sql.time},
       attempts = ?, next_attempt_at = NULL, ready_at = NULL, lease_owner = ?, lease_expires_at = ${sql.time}
     WHERE id = ? AND status = 'pending' AND run_id = ? AND waiting IS NULL AND ready_at IS NULL RETURNING id`,
    [
      jsonParam(row.inputs),
      row.started_at,
      row.updated_at,
      row.attempts,
      row.lease_owner,
      row.lease_expires_at,
      row.id,
      row.run_id,
    ],
  );
  return rows.length === 1;
}
