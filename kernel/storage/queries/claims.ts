import { fromDatabaseRow, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner, Statement } from '../sql.ts';
import { byIds, statusAmong, taskColumns } from './task-columns.ts';

/** A ready task found by {@link selectClaimable}. */
export interface ClaimCandidate {
  id: string;
  root_id: string;
  user_id: string | null;
}

/** Which ready tasks an engine may take. */
export interface ClaimFilter {
  now: string;
  owner: string;
  /** Only tasks pinned to `owner` (a one-shot command runs its own trees and nothing else). */
  pinnedOnly: boolean;
  limit: number;
  /** Users at their limit: their tasks wait. `null` stands for tasks without a user. */
  usersAtLimit: readonly (string | null)[];
}

/**
 * Ready tasks, most urgent first (lower `priority`, then the longest ready, then creation
 * order). On PostgreSQL the rows are locked and rows another engine is claiming are skipped
 * (`FOR UPDATE SKIP LOCKED`), so engines claiming at once take different tasks; SQLite's write
 * transaction already makes the read and the update that follows one atomic step.
 */
export async function selectClaimable(sql: Sql, runner: SqlRunner, filter: ClaimFilter): Promise<ClaimCandidate[]> {
  const [from, params] = readyFrom(sql, filter, 'id, root_id, user_id');
  return runner.select<ClaimCandidate>(from, params);
}

/**
 * The ready tasks of `filter`, most urgent first, as a SELECT of `columns` and its parameters.
 * No status test: only pending tasks carry ready_at (the claim re-checks), and a status test
 * tempts planners without statistics (a fresh database) into reading every pending task.
 */
function readyFrom(sql: Sql, filter: ClaimFilter, columns: string): Statement {
  const params: unknown[] = [filter.now, filter.owner];
  let where = `ready_at IS NOT NULL AND ready_at <= ${sql.time} AND ${filter.pinnedOnly ? 'pinned_to = ?' : '(pinned_to IS NULL OR pinned_to = ?)'}`;
  const named = filter.usersAtLimit.filter((user): user is string => user !== null);
  if (filter.usersAtLimit.includes(null)) where += ' AND user_id IS NOT NULL';
  if (named.length) {
    where += ` AND (user_id IS NULL OR user_id NOT IN (${named.map(() => '?').join(', ')}))`;
    params.push(...named);
  }
  params.push(filter.limit);
  // Without statistics (a fresh or freshly filled table) PostgreSQL's planner guesses a handful of
  // ready rows and sorts them all; reading the ready index in order is right at any size: write
  // transactions have sorts and bitmap scans off (postgres-driver.ts).
  const lock = sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  // SQLite's planner would rather read the status index and sort every pending task.
  const table = sql.dialect === 'sqlite' ? 'apflow_tasks INDEXED BY apflow_tasks_ready' : 'apflow_tasks';
  return [
    `SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY priority, ready_at, position LIMIT ?${lock}`,
    params,
  ];
}

/** A ready task {@link pickAndClaim} picked: claimed (`row`) if its tree's root was held, else `row` null. */
export interface PickedTask extends ClaimCandidate {
  row: TaskRow | null;
}

/**
 * PostgreSQL: picks the ready tasks as {@link selectClaimable} does and, in the same statement,
 * claims those of trees whose roots this transaction holds (`held`) as {@link claimRows} does.
 * Returns every pick, most urgent first, each with its claimed row, or null: its root was not
 * held (lock it, then claim it with {@link claimRows}).
 */
export async function pickAndClaim(
  sql: Sql,
  runner: SqlRunner,
  filter: ClaimFilter,
  claim: ClaimLease,
  held: readonly string[],
): Promise<PickedTask[]> {
  const [picks, pickParams] = readyFrom(
    sql,
    filter,
    'id AS pick_id, root_id AS pick_root, user_id AS pick_user, priority AS pick_priority, ready_at AS pick_ready, position AS pick_position',
  );
  const [set, setParams] = claimSet(sql, claim);
  const rows = await runner.select(
    `WITH picked AS (${picks}),
     claimed AS (UPDATE apflow_tasks SET ${set} FROM picked
       WHERE apflow_tasks.id = picked.pick_id AND picked.pick_root = ANY(CAST(? AS text[]))
         AND ${statusAmong(['pending', 'input_required'], 'apflow_tasks.status')}
       RETURNING ${taskColumns('apflow_tasks.')})
     SELECT picked.pick_id, picked.pick_root, picked.pick_user, ${taskColumns('claimed.')}
       FROM picked LEFT JOIN claimed ON claimed.id = picked.pick_id
      ORDER BY picked.pick_priority, picked.pick_ready, picked.pick_position`,
    [...pickParams, ...setParams, held],
  );
  return rows.map(({ pick_id, pick_root, pick_user, ...row }) => ({
    id: pick_id as string,
    root_id: pick_root as string,
    user_id: (pick_user as string | null) ?? null,
    row: row.id === null ? null : fromDatabaseRow(row),
  }));
}

/** The lease a claim gives: running from `now`, held by `owner` until `until`. */
export interface ClaimLease {
  now: string;
  owner: string;
  until: string;
}

/** A claim's SET: running from `now`, one attempt more, under a lease until `until`. */
function claimSet(sql: Sql, claim: ClaimLease): Statement {
  return [
    `status = 'in_progress', started_at = CASE WHEN steps IS NULL OR started_at IS NULL THEN ${sql.time} ELSE started_at END,
         updated_at = ${sql.time}, attempts = attempts + 1, next_attempt_at = NULL, ready_at = NULL, waiting = NULL,
         lease_owner = ?, lease_expires_at = ${sql.time}`,
    [claim.now, claim.now, claim.owner, claim.until],
  ];
}

/**
 * Serialises claims that count running tasks (per-user and cluster limits) across every engine
 * on the database, until the transaction ends. SQLite's write transaction already does.
 */
export async function lockClaimCounts(sql: Sql, runner: SqlRunner): Promise<void> {
  if (sql.dialect === 'postgres') await runner.run('SELECT pg_advisory_xact_lock(7301191)');
}

/** Tasks running now on every engine, per user (`null`: tasks without a user). */
export async function runningPerUser(runner: SqlRunner): Promise<Map<string | null, number>> {
  const rows = await runner.select<{ user_id: string | null; n: number | string }>(
    "SELECT user_id, COUNT(*) AS n FROM apflow_tasks WHERE status = 'in_progress' GROUP BY user_id",
  );
  return new Map(rows.map((row) => [row.user_id ?? null, Number(row.n)]));
}

/** How many tasks are ready now and wait for an engine to take them (any engine). */
export async function countReady(sql: Sql, now: string): Promise<number> {
  const rows = await sql.select<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM apflow_tasks WHERE ready_at IS NOT NULL AND ready_at <= ${sql.time} AND ${statusAmong(['pending', 'input_required'])}`,
    [now],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The earliest time a pending task becomes claimable after `now` (a retry's backoff), if any. */
export async function nextReadyAt(sql: Sql, now: string): Promise<string | null> {
  const rows = await sql.select<{ at: unknown }>(
    `SELECT MIN(ready_at) AS at FROM apflow_tasks WHERE ready_at IS NOT NULL AND ready_at > ${sql.time} AND ${statusAmong(['pending', 'input_required'])}`,
    [now],
  );
  const at = rows[0]?.at;
  return at === null || at === undefined ? null : at instanceof Date ? at.toISOString() : String(at);
}

/**
 * Claims `ids` for `owner` if they are still pending: running from `now`, one attempt more, under
 * a lease until `until`. Returns the claimed rows as they are now (call inside `sql.write`).
 */
export async function claimRows(
  sql: Sql,
  runner: SqlRunner,
  ids: readonly string[],
  claim: ClaimLease,
): Promise<TaskRow[]> {
  const [set, setParams] = claimSet(sql, claim);
  const rows = await byIds(ids, (chunk) => {
    const [among, params] = sql.among('id', chunk);
    return runner.select(
      `UPDATE apflow_tasks SET ${set}
       WHERE ${among} AND ${statusAmong(['pending', 'input_required'])} RETURNING ${taskColumns()}`,
      [...setParams, ...params],
    );
  });
  return rows.map(fromDatabaseRow);
}
