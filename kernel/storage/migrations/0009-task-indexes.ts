import type { SqlMigration } from './index.ts';

/**
 * Fewer index entries per task row version. A task row is written several times in a run (insert,
 * run entry, ready, claim, end) and each version goes into every index of the table on PostgreSQL
 * (a partial index only when the version matches its predicate), into each changed one on SQLite.
 * What reads `apflow_tasks`, and the index it takes (kernel/storage/queries, spawn-write, usage-ledger):
 *
 * - by id (lockRoots, lockRootsOf, claimRows, markReady, updateTasks, heldBy, renewLeases,
 *   leasesLost, selectStates, select*, deleteTasks, has_usage): the primary key.
 * - `root_id = ?` / `root_id IN` (selectTree, selectTreesIn, selectSmallTreesIn, selectPlaces,
 *   runsWithWork, countRunStatuses, countTreeStatuses, selectTreeStarts, enterRuns of a whole tree,
 *   spawn's MAX(position) and tree sizes): `(root_id, status)`; `root_id` alone repeated its lead.
 * - `parent_id = ?` (selectChildren, pendingCandidates) and `parent_id IS NULL [AND status = ?]`
 *   (tasks.list and tasks.count of roots): `(parent_id, status)`; `parent_id` alone repeated its lead.
 * - `status = ?` (runningPerUser, othersLeases, pinOwners, unpin, tasks.list/count over all tasks,
 *   any status a client names): `status`, whole (no predicate every one of them implies).
 * - `user_id = ?` (tasks.list/count of a user, newest first): `(user_id, created_at)`, now only rows
 *   with a user (`user_id = ?` implies it); tasks of servers without users are not in it.
 * - `ready_at IS NOT NULL` (selectClaimable, countReady, nextReadyAt): `apflow_tasks_ready`, unchanged.
 * - `run_state = 'running'` (findRunningTrees, runsWithoutId): `run_state`, now only roots whose
 *   run is under way (run_state is 'running' or NULL).
 * - `original_task_id`: no query reads it; kept for copies only (NULL on every other task).
 * - `lease_owner`: dropped. No query picks tasks by it (the lease checks go by id first); a partial
 *   index would still take every claimed version, where a run writes most.
 *
 * `apflow_task_events` keeps both of its indexes: the key (reads and deletes by root) and
 * `created_at` (the prune, a whole-table scan without it). Named 0009: `0008-has-usage` is taken.
 */
export const taskIndexes: SqlMigration = {
  name: '0009-task-indexes',
  sql: () => [
    'DROP INDEX IF EXISTS apflow_tasks_root_id',
    'DROP INDEX IF EXISTS apflow_tasks_parent_id',
    'DROP INDEX IF EXISTS apflow_tasks_lease_owner',
    'DROP INDEX IF EXISTS apflow_tasks_user_id_created_at',
    'CREATE INDEX apflow_tasks_user_id_created_at ON apflow_tasks (user_id, created_at) WHERE user_id IS NOT NULL',
    'DROP INDEX IF EXISTS apflow_tasks_run_state',
    'CREATE INDEX apflow_tasks_run_state ON apflow_tasks (run_state) WHERE run_state IS NOT NULL',
    'DROP INDEX IF EXISTS apflow_tasks_original_task_id',
    'CREATE INDEX apflow_tasks_original_task_id ON apflow_tasks (original_task_id) WHERE original_task_id IS NOT NULL',
  ],
};
