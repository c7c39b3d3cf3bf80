import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * `trace_parent`: the W3C `traceparent` of the request that began a task's run, when it was
 * traced (OpenTelemetry on), so every server makes the run's spans in that one trace.
 */
export const traceParent: SqlMigration = {
  name: '0007-trace-parent',
  sql: () => ['ALTER TABLE apflow_tasks ADD COLUMN trace_parent VARCHAR(64)'],
};

/**
 * `has_usage`: set once a task has an LLM call in the usage ledger (a root: once its tree has
 * one), so reading a task looks the ledger up only when there is something to find.
 */
export const hasUsage: SqlMigration = {
  name: '0008-has-usage',
  sql: (dialect) => {
    const t = columnTypes(dialect);
    return [`ALTER TABLE apflow_tasks ADD COLUMN has_usage ${t.bool} NOT NULL DEFAULT ${t.false}`];
  },
};
