import type { TaskEvent } from '../../hooks/hook-types.ts';
import type { Sql, SqlRunner, Statement } from '../sql.ts';
import { chunks } from './task-columns.ts';

/** One row of the event log: the events a transaction wrote for one tree (migration 0010). */
type Batch = [root: string, lastSeq: number, firstSeq: number, events: string, createdAt: string];

const COLUMNS = 'apflow_event_batches (root_task_id, last_seq, first_seq, events, created_at)';

/**
 * Appends events to the event log (call inside `sql.write`, with the changes they announce): one
 * row per tree, its events as a JSON array in `seq` order. `json` serialises one (the engine
 * passes its cached serialiser, so streams reuse the text); `also` is a SELECT that rides on the
 * last insert (PostgreSQL runs a WITH's INSERT whether or not it is read).
 */
export async function insertEvents(
  sql: Sql,
  runner: SqlRunner,
  events: readonly TaskEvent[],
  json: (event: TaskEvent) => string = JSON.stringify,
  also?: { select: string; params: unknown[] } | null,
): Promise<void> {
  const parts = chunks(batchesOf(events, json), 200);
  for (const [i, part] of parts.entries()) {
    const [insert, params] = insertOf(sql, part);
    if (also && i === parts.length - 1)
      await runner.run(`WITH written AS (${insert}) SELECT ${also.select}`, [...params, ...also.params]);
    else await runner.run(insert, params);
  }
  if (also && parts.length === 0) await runner.run(`SELECT ${also.select}`, also.params);
}

/**
 * The batches of `events`, one per tree, each in `seq` order: the engine numbers a tree's events
 * as it appends them (`tree-tx.ts` `event`), so the order they come in is theirs.
 */
function batchesOf(events: readonly TaskEvent[], json: (event: TaskEvent) => string): Batch[] {
  const byRoot = new Map<string, TaskEvent[]>();
  for (const event of events) {
    const list = byRoot.get(event.root_task_id);
    if (list) list.push(event);
    else byRoot.set(event.root_task_id, [event]);
  }
  const batches: Batch[] = [];
  for (const [root, list] of byRoot) {
    const first = list[0] as TaskEvent;
    const last = list[list.length - 1] as TaskEvent;
    batches.push([root, last.seq, first.seq, `[${list.map(json).join(',')}]`, last.timestamp]);
  }
  return batches;
}

/**
 * The INSERT of `batches`: a lone batch (a tree's turn) as bound values, so its events' text goes
 * as it is rather than inside another JSON document or array literal; several as a table.
 */
function insertOf(sql: Sql, batches: readonly Batch[]): Statement {
  if (batches.length === 1)
    return [`INSERT INTO ${COLUMNS} VALUES (?, ?, ?, ?, ${sql.time})`, [...(batches[0] as Batch)]];
  const [from, params] = sql.table('v', ['text', 'integer', 'integer', 'text', 'timestamptz'], batches);
  return [
    `INSERT INTO ${COLUMNS} SELECT v.column1, v.column2, v.column3, v.column4, ${sql.valueOf('v.column5', 'timestamptz')} FROM ${from}`,
    params,
  ];
}

/** Batches read at a time: each holds at least one event, most a turn's worth. */
const BATCHES_READ = 64;

/** The events of a tree after `afterSeq`, in order (at most `limit`). */
export async function selectEvents(sql: Sql, rootId: string, afterSeq: number, limit: number): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for (let after = afterSeq; ;) {
    const rows = await sql.select<{ last_seq: number | string; events: string }>(
      'SELECT last_seq, events FROM apflow_event_batches WHERE root_task_id = ? AND last_seq > ? ORDER BY last_seq LIMIT ?',
      [rootId, after, BATCHES_READ],
    );
    for (const row of rows)
      for (const event of JSON.parse(row.events) as TaskEvent[]) {
        if (event.seq <= afterSeq) continue;
        out.push(event);
        if (out.length >= limit) return out;
      }
    if (rows.length < BATCHES_READ) return out;
    after = Number((rows[rows.length - 1] as { last_seq: number | string }).last_seq);
  }
}

/**
 * Deletes events older than `before` (ISO time), a batch at a time: a batch goes once its last
 * event is older, so an event may outlive the retention by the length of the turn that wrote it.
 */
export async function pruneEvents(sql: Sql, runner: SqlRunner, before: string): Promise<void> {
  await runner.run(`DELETE FROM apflow_event_batches WHERE created_at < ${sql.time}`, [before]);
}
