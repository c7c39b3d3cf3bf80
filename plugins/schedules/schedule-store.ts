import type { PluginApp } from 'apflow';
import { toFireRow, toScheduleRow, type FireRow, type ScheduleRow } from './schedule-row.ts';

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
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof ScheduleRow)[];

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
  const insertFire = (fire: FireRow): [string, unknown[]] => [
    `INSERT INTO schedules_fires (schedule_id, fire_key, fire_at, kind, state, root_task_id, inputs, owner, claimed_until, fired_at, error)
       VALUES (?, ?, ${sql.time}, ?, ?, ?, ${sql.json}, ?, ${sql.time}, ${sql.time}, ?) ON CONFLICT DO NOTHING RETURNING fire_key`,
    [
      fire.schedule_id,
      fire.fire_key,
      fire.fire_at,
      fire.kind,
      fire.state,
      fire.root_task_id,
      fire.inputs === null ? null : JSON.stringify(fire.inputs),
      fire.owner,
      fire.claimed_until,
      fire.fired_at,
      fire.error,
    ],
  ];

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
      const changing = COLUMNS.filter(
        (column) => !['id', 'version', 'runs', 'skipped', 'missed', 'created_at'].includes(column),
      );
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
      return row?.soonest == null ? null : new Date(row.soonest as string).toISOString();
    },
    /**
     * Applies each claim whose schedule still has the version it read, and records its fires, in
     * one transaction: the fires of the claims that applied (a claim another server made first
     * does not apply, and its fires are not recorded).
     */
    async claim(changes: readonly ClaimChange[], now: string): Promise<{ applied: Set<string>; fires: FireRow[] }> {
      return sql.write(async (tx) => {
        const claimed: FireRow[] = [];
        const applied = new Set<string>();
        for (const change of changes) {
          const rows = await tx.select(
            `UPDATE schedules SET next_fire_at = ${sql.time}, runs = runs + ?, missed = missed + ?,
               last_fire_at = COALESCE(${sql.time}, last_fire_at), version = version + 1, updated_at = ${sql.time}
             WHERE id = ? AND version = ? RETURNING id`,
            [change.next_fire_at, change.runs, change.missed, change.last_fire_at, now, change.id, change.version],
          );
          if (rows.length === 0) continue;
          applied.add(change.id);
          for (const fire of change.fires) if ((await tx.select(...insertFire(fire))).length) claimed.push(fire);
        }
        return { applied, fires: claimed };
      });
    },
    /** Records one fire (manual or webhook); false when its key was used already (a replay). */
    async addFire(fire: FireRow, countRun: boolean): Promise<boolean> {
      return sql.write(async (tx) => {
        if ((await tx.select(...insertFire(fire))).length === 0) return false;
        if (countRun) await tx.run('UPDATE schedules SET runs = runs + 1 WHERE id = ?', [fire.schedule_id]);
        return true;
      });
    },
    /** Fires claimed by a server whose claim ran out before it started them. */
    async stale(now: string, limit: number): Promise<FireRow[]> {
      const rows = await sql.select(
        `SELECT * FROM schedules_fires WHERE state = 'claimed' AND claimed_until < ${sql.time} ORDER BY fire_at LIMIT ?`,
        [now, limit],
      );
      return rows.map(toFireRow);
    },
    /** Takes over a stale fire for `owner` until `until`; false when another server took it first. */
    async takeOver(fire: FireRow, owner: string, until: string, now: string): Promise<boolean> {
      const rows = await sql.write((tx) =>
        tx.select(
          `UPDATE schedules_fires SET owner = ?, claimed_until = ${sql.time}
           WHERE schedule_id = ? AND fire_key = ? AND state = 'claimed' AND claimed_until < ${sql.time} RETURNING fire_key`,
          [owner, until, fire.schedule_id, fire.fire_key, now],
        ),
      );
      return rows.length === 1;
    },
    /**
     * Renews `owner`'s claim on a fire it is about to create the tree of; false when another
     * server took it over meanwhile (this one was too slow), and must then leave it.
     */
    async hold(fire: FireRow, owner: string, until: string): Promise<boolean> {
      const rows = await sql.write((tx) =>
        tx.select(
          `UPDATE schedules_fires SET claimed_until = ${sql.time}
           WHERE schedule_id = ? AND fire_key = ? AND state = 'claimed' AND owner = ? RETURNING fire_key`,
          [until, fire.schedule_id, fire.fire_key, owner],
        ),
      );
      return rows.length === 1;
    },
    /** Records how a fire ended up (started, skipped, failed) and, when started, the schedule's last run. */
    async settle(fire: FireRow, state: 'started' | 'skipped' | 'failed', rootId: string | null, error: string | null) {
      await sql.write(async (tx) => {
        await tx.run(
          `UPDATE schedules_fires SET state = ?, root_task_id = ?, error = ?, claimed_until = NULL WHERE schedule_id = ? AND fire_key = ?`,
          [state, rootId, error, fire.schedule_id, fire.fire_key],
        );
        if (state === 'started')
          await tx.run('UPDATE schedules SET last_root_task_id = ? WHERE id = ?', [rootId, fire.schedule_id]);
        if (state === 'skipped')
          await tx.run('UPDATE schedules SET skipped = skipped + 1, runs = runs - 1 WHERE id = ?', [fire.schedule_id]);
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
        next_fire_at: row?.soonest == null ? null : new Date(row.soonest as string).toISOString(),
        claimed: Number(claimed?.n ?? 0),
      };
    },
    /** Deletes up to `limit` ended fires recorded before `before`; answers how many. */
    async prune(before: string, limit: number): Promise<number> {
      return sql.write(async (tx) => {
        const old = await tx.select<{ schedule_id: string; fire_key: string }>(
          `SELECT schedule_id, fire_key FROM schedules_fires WHERE fired_at < ${sql.time} AND state <> 'claimed' LIMIT ?`,
          [before, limit],
        );
        for (const row of old)
          await tx.run('DELETE FROM schedules_fires WHERE schedule_id = ? AND fire_key = ?', [
            row.schedule_id,
            row.fire_key,
          ]);
        return old.length;
      });
    },
    /** The latest fires of a schedule, newest first. */
    async fires(scheduleId: string, limit: number): Promise<FireRow[]> {
      const rows = await sql.select(
        'SELECT * FROM schedules_fires WHERE schedule_id = ? ORDER BY fired_at DESC, fire_at DESC LIMIT ?',
        [scheduleId, limit],
      );
      return rows.map(toFireRow);
    },
  };
}

/** The schedules plugin's store. */
export type ScheduleStore = ReturnType<typeof createScheduleStore>;
