import { columnTypes, type Migration } from 'apflow';

/**
 * `schedules`: what runs when; `schedules_fires`: one row per fire, whose primary key
 * (schedule, fire key) is what makes a fire happen once whatever the number of servers.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-schedules-tables',
    sql: (dialect) => {
      const t = columnTypes(dialect);
      return [
        `CREATE TABLE schedules (
          id VARCHAR(64) PRIMARY KEY,
          name VARCHAR(255) NOT NULL,
          user_id VARCHAR(255),
          template_task_id VARCHAR(255),
          -- A stored template: the tasks array, its executors' secret inputs sealed.
          tasks ${t.json},
          trigger_type VARCHAR(16) NOT NULL,
          cron VARCHAR(255),
          timezone VARCHAR(64) NOT NULL,
          interval_s INTEGER,
          at_time ${t.time},
          overlap VARCHAR(16) NOT NULL,
          catch_up VARCHAR(16) NOT NULL,
          catch_up_max INTEGER NOT NULL,
          inputs ${t.json},
          enabled ${t.bool} NOT NULL,
          max_runs INTEGER,
          starts_at ${t.time},
          ends_at ${t.time},
          runs INTEGER NOT NULL DEFAULT 0,
          skipped INTEGER NOT NULL DEFAULT 0,
          missed INTEGER NOT NULL DEFAULT 0,
          next_fire_at ${t.time},
          last_fire_at ${t.time},
          last_root_task_id VARCHAR(255),
          -- Bumped by every change and claim: a claim applies only to the version it read.
          version INTEGER NOT NULL DEFAULT 0,
          webhook_id VARCHAR(64),
          -- The webhook's HMAC key, sealed when the server has a lasting secrets key.
          webhook_key TEXT,
          -- Keys the suffix of its runs' root ids: past ids tell nothing of future ones.
          fire_salt VARCHAR(64) NOT NULL,
          created_at ${t.time} NOT NULL,
          updated_at ${t.time} NOT NULL
        )`,
        'CREATE INDEX schedules_due ON schedules (enabled, next_fire_at)',
        'CREATE INDEX schedules_user_id ON schedules (user_id, created_at)',
        'CREATE UNIQUE INDEX schedules_webhook_id ON schedules (webhook_id)',
        `CREATE TABLE schedules_fires (
          schedule_id VARCHAR(64) NOT NULL,
          -- The scheduled time (ISO) for timed fires; manual:<uuid> or webhook:<signature> otherwise.
          fire_key VARCHAR(160) NOT NULL,
          fire_at ${t.time} NOT NULL,
          kind VARCHAR(16) NOT NULL,
          state VARCHAR(16) NOT NULL,
          root_task_id VARCHAR(255),
          inputs ${t.json},
          owner VARCHAR(255),
          claimed_until ${t.time},
          fired_at ${t.time} NOT NULL,
          error TEXT,
          PRIMARY KEY (schedule_id, fire_key)
        )`,
        'CREATE INDEX schedules_fires_recent ON schedules_fires (schedule_id, fired_at)',
        'CREATE INDEX schedules_fires_claimed ON schedules_fires (state, claimed_until)',
      ];
    },
  },
];
