import { JSON_COLUMNS, TIME_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import { jsonParam, type Sql } from '../sql.ts';

/** How many rows one statement carries. */
export const CHUNK = 300;

/** The placeholder for `column` in this dialect. */
export function placeholderFor(sql: Sql, column: string): string {
  if (JSON_COLUMNS.has(column)) return sql.json;
  if (TIME_COLUMNS.has(column)) return sql.time;
  return '?';
}

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

/** A change to one task: the columns to set. */
export interface TaskChange {
  id: string;
  set: Partial<TaskRow>;
}
