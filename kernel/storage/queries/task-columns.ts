import { JSON_COLUMNS, TASK_COLUMNS, TIME_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import { jsonParam, type SqlType } from '../sql.ts';

/** How many rows one statement carries. */
export const CHUNK = 300;

/** The SQL type of a task column that is not text. */
export function columnType(column: string): SqlType | undefined {
  if (JSON_COLUMNS.has(column)) return 'jsonb';
  if (TIME_COLUMNS.has(column)) return 'timestamptz';
  return NON_TEXT_COLUMNS[column];
}

const NON_TEXT_COLUMNS: Record<string, SqlType> = {
  priority: 'integer',
  position: 'integer',
  attempts: 'integer',
  event_seq: 'integer',
  shape_rev: 'integer',
  progress: 'double precision',
  has_children: 'boolean',
  has_copy: 'boolean',
  run_demo: 'boolean',
  has_usage: 'boolean',
};

/** The parameter value for `column`. */
export function paramFor(column: string, value: unknown): unknown {
  if (JSON_COLUMNS.has(column)) return jsonParam(value);
  if (typeof value === 'boolean') return value;
  return value ?? null;
}

/** Splits `items` into chunks of {@link CHUNK}. */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A status test for statements that pick tasks by id: `status IN (…)` hidden from the status
 * index. Without statistics (a fresh table) PostgreSQL's planner takes a status as rare and would
 * read every task with it (every pending task, for a claim) rather than the few ids asked for.
 * `statuses` are apflow's own constants, never client input.
 */
export function statusAmong(statuses: readonly string[], column = 'status'): string {
  if (!statuses.every((status) => /^[a-z_]+$/.test(status)))
    throw new Error(`internal: not a task status: ${statuses.join(', ')}`);
  return `COALESCE(${column}, '') IN (${statuses.map((status) => `'${status}'`).join(', ')})`;
}

/**
 * A whole task row's columns for a select list (`prefix` names the table: `t.`), where `*` would
 * do: a statement naming its columns keeps its result shape when a later migration adds one, so
 * PostgreSQL can keep it prepared (postgres-driver.ts prepares no result of `*`).
 */
export const taskColumns = (prefix = ''): string => TASK_COLUMNS.map((column) => `${prefix}${column}`).join(', ');

/** `?, ?, …`: one placeholder per value. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * Runs `query` over the distinct `ids` in chunks of 500 (one `IN (…)` each) and concatenates
 * what each returns: how every by-id statement stays within the drivers' parameter limits.
 */
export async function byIds<T>(ids: readonly string[], query: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const chunk of chunks([...new Set(ids)], 500)) if (chunk.length) out.push(...(await query(chunk)));
  return out;
}

/** A change to one task: the columns to set. */
export interface TaskChange {
  id: string;
  set: Partial<TaskRow>;
}
