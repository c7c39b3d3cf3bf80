import type { TaskEvent } from '../../hooks/hook-types.ts';
import type { Sql, SqlRunner } from '../sql.ts';
import { chunks } from './task-columns.ts';

/**
 * Appends events to the event log (call inside `sql.write`, with the changes they announce);
 * `json` serialises one (the engine passes its cached serialiser, so streams reuse the text).
 */
export async function insertEvents(
  sql: Sql,
  runner: SqlRunner,
  events: readonly TaskEvent[],
  json: (event: TaskEvent) => string = JSON.stringify,
  also?: { select: string; params: unknown[] } | null,
): Promise<void> {
  const all = chunks(events, 200);
  for (const [i, chunk] of all.entries()) {
    const [from, params] = sql.table(
      'v',
      ['text', 'integer', 'text', 'text', 'jsonb', 'timestamptz'],
      chunk.map((event) => [event.root_task_id, event.seq, event.task_id, event.type, json(event), event.timestamp]),
    );
    const insert = `INSERT INTO apflow_task_events (root_task_id, seq, task_id, type, event, created_at)
         SELECT v.column1, v.column2, v.column3, v.column4, ${sql.valueOf('v.column5', 'jsonb')}, ${sql.valueOf('v.column6', 'timestamptz')} FROM ${from}`;
    // `also` rides on the last insert (PostgreSQL runs a WITH's INSERT whether or not it is read).
    if (also && i === all.length - 1)
      await runner.run(`WITH written AS (${insert}) SELECT ${also.select}`, [...params, ...also.params]);
    else await runner.run(insert, params);
  }
  if (also && all.length === 0) await runner.run(`SELECT ${also.select}`, also.params);
}

/** The events of a tree after `afterSeq`, in order (at most `limit`). */
export async function selectEvents(sql: Sql, rootId: string, afterSeq: number, limit: number): Promise<TaskEvent[]> {
  const rows = await sql.select<{ event: unknown }>(
    'SELECT event FROM apflow_task_events WHERE root_task_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    [rootId, afterSeq, limit],
  );
  return rows.map((row) => (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as TaskEvent);
}

/** Deletes events older than `before` (ISO time). */
export async function pruneEvents(sql: Sql, runner: SqlRunner, before: string): Promise<void> {
  await runner.run(`DELETE FROM apflow_task_events WHERE created_at < ${sql.time}`, [before]);
}
