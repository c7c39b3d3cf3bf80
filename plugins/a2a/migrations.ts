import { columnTypes, type Migration } from 'apflow';

/**
 * `a2a_tasks`: the A2A Tasks apflow answered, each tied (once a tree was sent) to the apflow
 * tree that does the work; `a2a_push_configs`: where to push their updates.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-a2a-tables',
    sql: (dialect) => {
      const t = columnTypes(dialect);
      return [
        `CREATE TABLE a2a_tasks (
          id VARCHAR(64) PRIMARY KEY,
          context_id VARCHAR(255) NOT NULL,
          user_id VARCHAR(255),
          root_task_id VARCHAR(255),
          -- The state while no tree decides it (input-required, or canceled before a tree came).
          state VARCHAR(32) NOT NULL,
          status_message ${t.json},
          history ${t.json} NOT NULL,
          metadata ${t.json},
          created_at ${t.time} NOT NULL,
          updated_at ${t.time} NOT NULL
        )`,
        'CREATE INDEX a2a_tasks_user_id_created_at ON a2a_tasks (user_id, created_at)',
        'CREATE INDEX a2a_tasks_root_task_id ON a2a_tasks (root_task_id)',
        `CREATE TABLE a2a_push_configs (
          task_id VARCHAR(64) NOT NULL,
          id VARCHAR(255) NOT NULL,
          url TEXT NOT NULL,
          -- Token and credentials are sealed (AES-256-GCM) with a2a.push.secrets_key, or not stored.
          sealed_secrets TEXT,
          scheme VARCHAR(64),
          protocol_version VARCHAR(8) NOT NULL,
          -- The seq of the last event of the task's tree whose updates this config got (or gave up on).
          delivered_seq INTEGER NOT NULL DEFAULT 0,
          created_at ${t.time} NOT NULL,
          PRIMARY KEY (task_id, id)
        )`,
      ];
    },
  },
  {
    // Who delivers a task's pushes (one server or worker at a time), under a lease.
    name: '0002-push-lease',
    sql: (dialect) => [
      'ALTER TABLE a2a_tasks ADD COLUMN push_owner VARCHAR(255)',
      `ALTER TABLE a2a_tasks ADD COLUMN push_until ${columnTypes(dialect).time}`,
    ],
  },
];
