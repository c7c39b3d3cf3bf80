import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * Per-task claiming, so several servers share one database: `ready_at` (claimable from then on),
 * `run_id` (the run a task is part of: its scope), `active_run` (on a root: the tree's run under
 * way), `run_demo` (the run is in demo mode, wherever it runs), `pinned_to` (the only server that may run it,
 * for runs that need something held in that server's memory), and `apflow_servers`, where every
 * engine keeps a heartbeat so the others can tell when it is gone.
 */
export const taskClaims: SqlMigration = {
  name: '0003-task-claims',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `ALTER TABLE apflow_tasks ADD COLUMN ready_at ${t.time}`,
      'ALTER TABLE apflow_tasks ADD COLUMN run_id VARCHAR(64)',
      'ALTER TABLE apflow_tasks ADD COLUMN pinned_to VARCHAR(255)',
      'ALTER TABLE apflow_tasks ADD COLUMN active_run VARCHAR(64)',
      `ALTER TABLE apflow_tasks ADD COLUMN run_demo ${t.bool} NOT NULL DEFAULT ${t.false}`,
      // The claim reads this index in order: most urgent first, then the longest ready.
      'CREATE INDEX apflow_tasks_ready ON apflow_tasks (priority, ready_at, position) WHERE ready_at IS NOT NULL',
      'CREATE INDEX apflow_tasks_parent_id_status ON apflow_tasks (parent_id, status)',
      'CREATE INDEX apflow_tasks_root_id_status ON apflow_tasks (root_id, status)',
      'CREATE INDEX apflow_tasks_lease_owner ON apflow_tasks (lease_owner)',
      `CREATE TABLE apflow_servers (
        id VARCHAR(255) PRIMARY KEY,
        started_at ${t.time} NOT NULL,
        heartbeat_at ${t.time} NOT NULL
      )`,
    ];
  },
};
