import { fromDatabaseRow, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql } from '../sql.ts';
import { byIds, placeholders } from './task-columns.ts';

/** Filters of a task listing (reference/original-apflow.md §4 `tasks.list`). */
export interface TaskListFilter {
  user_id?: string | null;
  status?: string;
  /** Only tasks without a parent (default true). */
  root_only?: boolean;
  limit?: number;
  offset?: number;
}

/** One task by id. */
export async function selectTask(sql: Sql, id: string): Promise<TaskRow | null> {
  const rows = await sql.select('SELECT * FROM apflow_tasks WHERE id = ?', [id]);
  return rows[0] ? fromDatabaseRow(rows[0]) : null;
}

/** Tasks by id (any order). */
export async function selectTasks(sql: Sql, ids: readonly string[]): Promise<TaskRow[]> {
  const rows = await byIds(ids, (chunk) => {
    const [among, params] = sql.among('id', chunk);
    return sql.select(`SELECT * FROM apflow_tasks WHERE ${among}`, params);
  });
  return rows.map(fromDatabaseRow);
}

/** Every task of the tree rooted at `rootId`, in creation order. */
export async function selectTree(sql: Sql, rootId: string): Promise<TaskRow[]> {
  const rows = await sql.select('SELECT * FROM apflow_tasks WHERE root_id = ? ORDER BY position', [rootId]);
  return rows.map(fromDatabaseRow);
}

/** Direct children of `parentId`, by priority then creation order. */
export async function selectChildren(sql: Sql, parentId: string): Promise<TaskRow[]> {
  const rows = await sql.select('SELECT * FROM apflow_tasks WHERE parent_id = ? ORDER BY priority, position', [
    parentId,
  ]);
  return rows.map(fromDatabaseRow);
}

/** A page of tasks, newest first. */
export async function listTasks(sql: Sql, filter: TaskListFilter): Promise<TaskRow[]> {
  const { where, params } = whereClause(filter);
  const rows = await sql.select(
    `SELECT * FROM apflow_tasks ${where} ORDER BY created_at DESC, position LIMIT ? OFFSET ?`,
    [...params, filter.limit ?? 100, filter.offset ?? 0],
  );
  return rows.map(fromDatabaseRow);
}

/** How many tasks match, by status. */
export async function countTasks(sql: Sql, filter: TaskListFilter): Promise<Record<string, number>> {
  const { where, params } = whereClause({ ...filter, status: undefined });
  const rows = await sql.select<{ status: string; n: number | string }>(
    `SELECT status, COUNT(*) AS n FROM apflow_tasks ${where} GROUP BY status`,
    params,
  );
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

/** Which of `ids` already exist. */
export async function existingIds(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  const rows = await byIds(ids, (chunk) =>
    sql.select<{ id: string }>(`SELECT id FROM apflow_tasks WHERE id IN (${placeholders(chunk)})`, chunk),
  );
  return new Set(rows.map((row) => row.id));
}

function whereClause(filter: TaskListFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.user_id !== undefined && filter.user_id !== null) {
    conditions.push('user_id = ?');
    params.push(filter.user_id);
  }
  if (filter.status) {
    conditions.push('status = ?');
    params.push(filter.status);
  }
  if (filter.root_only !== false) conditions.push('parent_id IS NULL');
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}
