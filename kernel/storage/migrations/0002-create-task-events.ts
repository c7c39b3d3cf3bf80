import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * `apflow_task_events`: every task event, kept (for `engine.event_retention_s`) so a stream can
 * resume from the last event it saw (`Last-Event-ID`), on any server, after any restart.
 */
export const createTaskEvents: SqlMigration = {
  name: '0002-create-task-events',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `CREATE TABLE apflow_task_events (
        root_task_id VARCHAR(255) NOT NULL,
        seq INTEGER NOT NULL,
        task_id VARCHAR(255) NOT NULL,
        type VARCHAR(20) NOT NULL,
        event ${t.json} NOT NULL,
        created_at ${t.time} NOT NULL,
        PRIMARY KEY (root_task_id, seq)
      )`,
      'CREATE INDEX apflow_task_events_created_at ON apflow_task_events (created_at)',
    ];
  },
};
