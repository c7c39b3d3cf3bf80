import type { Sql, SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/** A run a tree enters: its tasks listed (by id), or its whole tree (`ids` null: a big tree). */
export interface RunEntry {
  rootId: string;
  ids: readonly string[] | null;
  runId: string;
  /** The engine its tasks are pinned to, or null for any. */
  pinnedTo: string | null;
  demo: boolean;
  /** The run's `traceparent`, when it is traced. */
  traceParent: string | null;
}

/**
 * Puts tasks into their runs: run id, pin and demo flag set, not claimable yet. Listed tasks of
 * every run share one statement (a join on the primary key); a whole tree is one statement of its
 * own (`root_id = ?`: joining many roots on `root_id` can read the whole table).
 */
export async function enterRuns(sql: Sql, runner: SqlRunner, runs: readonly RunEntry[]): Promise<void> {
  const set = `UPDATE apflow_tasks SET run_id = ?, pinned_to = ?, run_demo = ${sql.typed('boolean')}, trace_parent = ?, ready_at = NULL WHERE root_id = ?`;
  for (const run of runs)
    if (run.ids === null) await runner.run(set, [run.runId, run.pinnedTo, run.demo, run.traceParent, run.rootId]);
  const listed = runs.flatMap((run) =>
    (run.ids ?? []).map((id) => [id, run.runId, run.pinnedTo, run.demo, run.traceParent]),
  );
  for (const chunk of chunks(listed, 200)) {
    const [from, params] = sql.table('v', ['text', 'text', 'text', 'boolean', 'text'], chunk);
    await runner.run(
      `UPDATE apflow_tasks SET run_id = v.column2, pinned_to = v.column3, run_demo = ${sql.valueOf('v.column4', 'boolean')},
         trace_parent = v.column5, ready_at = NULL
         FROM ${from} WHERE apflow_tasks.id = v.column1`,
      params,
    );
  }
}
