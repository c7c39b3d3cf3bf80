import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * Durable runs: `steps` (what a task's executor stored in its current run: step results and the
 * answers to what it waited for, replayed when it is run again), `waiting` (what a suspended
 * task waits for: input, a timer or the children it spawned), `spawned_by` (the task that added
 * this one while it ran) and, on a root, `shape_rev` (bumped when a spawn adds tasks to the run,
 * so every engine reads the run's shape again).
 */
export const durableRuns: SqlMigration = {
  name: '0004-durable-runs',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `ALTER TABLE apflow_tasks ADD COLUMN steps ${t.json}`,
      `ALTER TABLE apflow_tasks ADD COLUMN waiting ${t.json}`,
      'ALTER TABLE apflow_tasks ADD COLUMN spawned_by VARCHAR(255)',
      'ALTER TABLE apflow_tasks ADD COLUMN shape_rev INTEGER NOT NULL DEFAULT 0',
    ];
  },
};
