import { groupCalls, type PluginApp } from 'apflow';
import { applyClaims, recordFires } from './claim-statements.ts';
import { createFireStore } from './fire-store.ts';
import { iso, toScheduleRow, type FireRow, type ScheduleRow } from './schedule-row.ts';

/** The columns a claim changes on a schedule, applied only to the version it read. */
export interface ClaimChange {
  id: string;
  version: number;
  next_fire_at: string | null;
  runs: number;
  missed: number;
  last_fire_at: string | null;
  fires: FireRow[];
}

const COLUMNS = [
  'id',
  'name',
  'user_id',
  'template_task_id',
  'tasks',
  'trigger_type',
  'cron',
  'timezone',
  'interval_s',
  'at_time',
  'overlap',
  'catch_up',
  'catch_up_max',
  'inputs',
  'enabled',
  'max_runs',
  'starts_at',
  'ends_at',
  'runs',
  'skipped',
  'missed',
  'next_fire_at',
  'last_fire_at',
  'last_root_task_id',
  'version',
  'webhook_id',
  'webhook_key',
  'fire_salt',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof ScheduleRow)[];

// What claims and fires write: a change of the schedule never writes them back (it read them earlier).
const FIRE_WRITTEN: ReadonlySet<string> = new Set([
  'id',
  'version',
  'runs',
  'skipped',
  'missed',
  'last_fire_at',
  'last_root_task_id',
  'fire_salt',
  'created_at',
]);
const JSON_COLUMNS: ReadonlySet<string> = new Set(['tasks', 'inputs']);
const TIME_COLUMNS: ReadonlySet<string> = new Set([
  'at_time',
  'starts_at',
  'ends_at',
  'next_fire_at',
  'last_fire_at',
  'created_at',
  'updated_at',
]);

/** The schedules plugin's tables, through the kernel's raw SQL helpers. */
export function createScheduleStore(app: Pick<PluginApp, 'storage'>) {
  const sql = app.storage.sql;
  const placeholder = (column: string) =>
    JSON_COLUMNS.has(column)
      ? sql.json
      : TIME_COLUMNS.has(column)
        ? sql.time
        : column === 'enabled'
          ? sql.typed('boolean')
          : '?';
  const value = (row: ScheduleRow, column: (typeof COLUMNS)[number]) => {
    const raw = row[column];
    return JSON_COLUMNS.has(column) && raw !== null ? JSON.stringify(raw) : raw;
  };
  return {
    async insert(row: ScheduleRow): Promise<void> {
      await sql.write((tx) =>
        tx.run(
          `INSERT INTO schedules (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(placeholder).join(', ')})`,
          COLUMNS.map((column) => value(row, column)),
        ),
      );
    },
    /** Saves every column of `row` but the counters, if it still has version `row.version` (bumped). */
    async save(row: ScheduleRow): Promise<boolean> {
      const changing = COLUMNS.filter((column) => !FIRE_WRITTEN.has(column));
      const done = await sql.write((tx) =>
        tx.select(
          `UPDATE schedules SET ${changing.map((column) => `${column} = ${placeholder(column)}`).join(', ')}, version = version + 1
           WHERE id = ? AND version = ? RETURNING id`,
          [...changing.map((column) => value(row, column)), row.id, row.version],
        ),
      );
      return done.length === 1;
    },
    async get(id: string): Promise<ScheduleRow | undefined> {
      const [raw] = await sql.select('SELECT * FROM schedules WHERE id = ?', [id]);
      return raw ? toScheduleRow(raw) : undefined;
    },
    /** One schedule, read with the others asked for at the same moment (one query for a batch of fires). */
    fresh: groupCalls<string, ScheduleRow | undefined>(async (ids) => {
      const rows = await sql.select(`SELECT * FROM schedules WHERE id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
      const byId = new Map(rows.map((raw) => [String(raw.id), toScheduleRow(raw)]));
      return ids.map((id) => byId.get(id));
    }),
    async byWebhook(webhookId: string): Promise<ScheduleRow | undefined> {
      const [raw] = await sql.select('SELECT * FROM schedules WHERE webhook_id = ?', [webhookId]);
      return raw ? toScheduleRow(raw) : undefined;
    },
    /** Schedules newest first, of one user (or all), optionally only enabled or paused ones. */
    async list(query: { userId?: string; enabled?: boolean; dueBy?: string; limit: number; offset: number }) {
      const filters: [string, unknown][] = [];
      if (query.userId !== undefined) filters.push(['user_id = ?', query.userId]);
      if (query.enabled !== undefined) filters.push([`enabled = ${sql.typed('boolean')}`, query.enabled]);
      if (query.dueBy !== undefined) filters.push([`next_fire_at <= ${sql.time}`, query.dueBy]);
      const clauses = filters.map(([clause]) => clause);
      const params = filters.map(([, param]) => param);
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
      const rows = await sql.select(
        `SELECT * FROM schedules ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        [...params, query.limit, query.offset],
      );
      return rows.map(toScheduleRow);
    },
    async countOf(userId: string | null): Promise<number> {
      const [row] = await sql.select<{ n: number | string }>(
        userId === null
          ? 'SELECT COUNT(*) AS n FROM schedules WHERE user_id IS NULL'
          : 'SELECT COUNT(*) AS n FROM schedules WHERE user_id = ?',
        userId === null ? [] : [userId],
      );
      return Number(row?.n ?? 0);
    },
    async remove(id: string): Promise<void> {
      await sql.write(async (tx) => {
        await tx.run('DELETE FROM schedules_fires WHERE schedule_id = ?', [id]);
        await tx.run('DELETE FROM schedules WHERE id = ?', [id]);
      });
    },
    /** Enabled schedules due by `now`, soonest first. */
    async due(now: string, limit: number): Promise<ScheduleRow[]> {
      const rows = await sql.select(
        `SELECT * FROM schedules WHERE enabled = ${sql.typed('boolean')} AND next_fire_at <= ${sql.time}
         ORDER BY next_fire_at, id LIMIT ?`,
        [true, now, limit],
      );
      return rows.map(toScheduleRow);
    },
    /** The soonest next fire of any enabled schedule (ISO), or null. */
    async soonest(): Promise<string | null> {
      const [row] = await sql.select<{ soonest: unknown }>(
        `SELECT MIN(next_fire_at) AS soonest FROM schedules WHERE enabled = ${sql.typed('boolean')}`,
        [true],
      );
      return iso(row?.soonest);
    },
    /**
     * Applies each claim whose schedule still has the version it read, and records its fires, in
     * one transaction: the fires of the claims that applied (a claim another server made first
     * does not apply, and its fires are not recorded).
     */
    async claim(changes: readonly ClaimChange[], now: string): Promise<{ applied: Set<string>; fires: FireRow[] }> {
      return sql.write(async (tx) => {
        const applied = await applyClaims(sql, tx, changes, now);
        const fires = await recordFires(
          sql,
          tx,
          changes.filter((change) => applied.has(change.id)).flatMap((change) => change.fires),
        );
        return { applied, fires };
      });
    },
    /** For `/health`: enabled schedules, the soonest next fire, fires claimed and not yet started. */
    async summary() {
      const [row] = await sql.select<{ n: number | string; soonest: unknown }>(
        `SELECT COUNT(*) AS n, MIN(next_fire_at) AS soonest FROM schedules WHERE enabled = ${sql.typed('boolean')}`,
        [true],
      );
      const [claimed] = await sql.select<{ n: number | string }>(
        "SELECT COUNT(*) AS n FROM schedules_fires WHERE state = 'claimed'",
      );
      return {
        enabled: Number(row?.n ?? 0),
        next_fire_at: iso(row?.soonest),
        claimed: Number(claimed?.n ?? 0),
      };
    },
    ...createFireStore(sql),
  };
}

/** The schedules plugin's store. */
export type ScheduleStore = ReturnType<typeof createScheduleStore>;
