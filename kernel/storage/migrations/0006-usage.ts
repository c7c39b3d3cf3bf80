import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * `apflow_usage`: the usage ledger, one row per LLM call an executor reported (`ctx.usage`): whose
 * task and tree, which provider and model, its tokens and its price when the price table knows
 * the model. Rows stay when their task is deleted. `day` (UTC, `YYYY-MM-DD`) groups a user's day.
 */
export const usageLedger: SqlMigration = {
  name: '0006-usage',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `CREATE TABLE apflow_usage (
        id VARCHAR(36) PRIMARY KEY,
        task_id VARCHAR(255) NOT NULL,
        root_id VARCHAR(255) NOT NULL,
        user_id VARCHAR(255),
        provider VARCHAR(64) NOT NULL,
        model VARCHAR(255) NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd DOUBLE PRECISION,
        day VARCHAR(10) NOT NULL,
        created_at ${t.time} NOT NULL
      )`,
      'CREATE INDEX apflow_usage_task ON apflow_usage (task_id)',
      'CREATE INDEX apflow_usage_root ON apflow_usage (root_id)',
      'CREATE INDEX apflow_usage_user_day ON apflow_usage (user_id, day)',
      'CREATE INDEX apflow_usage_day ON apflow_usage (day)',
    ];
  },
};
