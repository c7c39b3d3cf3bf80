import type { SqlMigration } from './index.ts';

/**
 * `trace_parent`: the W3C `traceparent` of the request that began a task's run, when it was
 * traced (OpenTelemetry on), so every server makes the run's spans in that one trace.
 */
export const traceParent: SqlMigration = {
  name: '0007-trace-parent',
  sql: () => ['ALTER TABLE apflow_tasks ADD COLUMN trace_parent VARCHAR(64)'],
};
