import { columnTypes, type Migration } from 'apflow';

/**
 * `quotas_daily`: runs of trees started per user and UTC day, one row each, counted by one atomic
 * upsert so every server of the database shares the count. `quotas_exempt_runs`: the trees whose
 * latest run was started by an exempt caller, so the per-task budget check on any server leaves
 * them alone.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-quotas-tables',
    sql: (dialect) => {
      const t = columnTypes(dialect);
      return [
        `CREATE TABLE quotas_daily (
          -- 'u:' and the user id, or '-' for trees without an owner (one shared budget).
          user_key VARCHAR(260) NOT NULL,
          day VARCHAR(10) NOT NULL,
          trees INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (user_key, day)
        )`,
        'CREATE INDEX quotas_daily_day ON quotas_daily (day)',
        `CREATE TABLE quotas_exempt_runs (
          root_task_id VARCHAR(255) PRIMARY KEY,
          created_at ${t.time} NOT NULL
        )`,
        'CREATE INDEX quotas_exempt_runs_created ON quotas_exempt_runs (created_at)',
      ];
    },
  },
];
