import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * `apflow_tasks`: the original's columns (reference/original-apflow.md §1) plus what the engine
 * needs: the tree a task belongs to, its place in the created array, attempts and retry time,
 * the lease of whoever runs it, and (on root rows) the tree's run state and event counter.
 */
export const createTasks: SqlMigration = {
  name: '0001-create-tasks',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `CREATE TABLE apflow_tasks (
        id VARCHAR(255) PRIMARY KEY,
        parent_id VARCHAR(255),
        user_id VARCHAR(255),
        name TEXT NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'pending',
        priority INTEGER NOT NULL DEFAULT 1,
        dependencies ${t.json},
        inputs ${t.json},
        params ${t.json},
        result ${t.json},
        error TEXT,
        schemas ${t.json},
        progress DOUBLE PRECISION NOT NULL DEFAULT '0',
        created_at ${t.time} NOT NULL,
        started_at ${t.time},
        updated_at ${t.time} NOT NULL,
        completed_at ${t.time},
        has_children ${t.bool} NOT NULL DEFAULT ${t.false},
        original_task_id VARCHAR(255),
        has_copy ${t.bool} NOT NULL DEFAULT ${t.false},
        root_id VARCHAR(255) NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at ${t.time},
        lease_owner VARCHAR(255),
        lease_expires_at ${t.time},
        run_state VARCHAR(20),
        event_seq INTEGER NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX apflow_tasks_root_id ON apflow_tasks (root_id)',
      'CREATE INDEX apflow_tasks_parent_id ON apflow_tasks (parent_id)',
      'CREATE INDEX apflow_tasks_user_id_created_at ON apflow_tasks (user_id, created_at)',
      'CREATE INDEX apflow_tasks_status ON apflow_tasks (status)',
      'CREATE INDEX apflow_tasks_original_task_id ON apflow_tasks (original_task_id)',
      'CREATE INDEX apflow_tasks_run_state ON apflow_tasks (run_state)',
    ];
  },
};
