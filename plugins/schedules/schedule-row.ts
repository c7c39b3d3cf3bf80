import { isRecord } from 'apflow';

/** What fires a schedule: a cron expression, an interval, one time, or only its webhook and `trigger`. */
export type TriggerType = 'cron' | 'interval' | 'once' | 'webhook';
/** What a fire does while the previous run of the schedule has not ended. */
export type Overlap = 'skip' | 'allow' | 'cancel_previous';
/** What the fires missed while no server ran become. */
export type CatchUp = 'none' | 'one' | 'all';

/** One stored schedule (`schedules`), times as ISO strings. */
export interface ScheduleRow {
  id: string;
  name: string;
  user_id: string | null;
  template_task_id: string | null;
  tasks: Record<string, unknown>[] | null;
  trigger_type: TriggerType;
  cron: string | null;
  timezone: string;
  interval_s: number | null;
  at_time: string | null;
  overlap: Overlap;
  catch_up: CatchUp;
  catch_up_max: number;
  inputs: Record<string, unknown> | null;
  enabled: boolean;
  max_runs: number | null;
  starts_at: string | null;
  ends_at: string | null;
  runs: number;
  skipped: number;
  missed: number;
  next_fire_at: string | null;
  last_fire_at: string | null;
  last_root_task_id: string | null;
  version: number;
  webhook_id: string | null;
  webhook_key: string | null;
  fire_salt: string;
  created_at: string;
  updated_at: string;
}

/** How a fire came about. */
export type FireKind = 'scheduled' | 'catch_up' | 'manual' | 'webhook';
/** Where a fire got to: claimed (its tree not yet started), started, skipped (overlap), failed. */
export type FireState = 'claimed' | 'started' | 'skipped' | 'failed';

/** One fire (`schedules_fires`). */
export interface FireRow {
  schedule_id: string;
  fire_key: string;
  fire_at: string;
  kind: FireKind;
  state: FireState;
  root_task_id: string | null;
  inputs: Record<string, unknown> | null;
  owner: string | null;
  claimed_until: string | null;
  fired_at: string;
  error: string | null;
}

// Our own tables' JSON columns: SQLite hands them back as text, PostgreSQL parsed.
const json = <T>(value: unknown): T | null =>
  value === null || value === undefined ? null : ((typeof value === 'string' ? JSON.parse(value) : value) as T);
/** A time from either driver (a string on SQLite, a Date on PostgreSQL) as ISO; null stays null. */
export const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value instanceof Date ? value : String(value)).toISOString();
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const bool = (value: unknown) => value === true || value === 1 || value === '1' || value === 't';

/**
 * A `schedules` row as read from either database. The enum columns are cast: this plugin writes
 * them, from params checked against the same literals.
 */
export function toScheduleRow(raw: Record<string, unknown>): ScheduleRow {
  const tasks = json<unknown>(raw.tasks);
  const inputs = json<unknown>(raw.inputs);
  return {
    id: String(raw.id),
    name: String(raw.name),
    user_id: raw.user_id == null ? null : String(raw.user_id),
    template_task_id: raw.template_task_id == null ? null : String(raw.template_task_id),
    tasks: Array.isArray(tasks) ? tasks.filter(isRecord) : null,
    trigger_type: String(raw.trigger_type) as TriggerType,
    cron: raw.cron == null ? null : String(raw.cron),
    timezone: String(raw.timezone),
    interval_s: num(raw.interval_s),
    at_time: iso(raw.at_time),
    overlap: String(raw.overlap) as Overlap,
    catch_up: String(raw.catch_up) as CatchUp,
    catch_up_max: Number(raw.catch_up_max),
    inputs: isRecord(inputs) ? inputs : null,
    enabled: bool(raw.enabled),
    max_runs: num(raw.max_runs),
    starts_at: iso(raw.starts_at),
    ends_at: iso(raw.ends_at),
    runs: Number(raw.runs ?? 0),
    skipped: Number(raw.skipped ?? 0),
    missed: Number(raw.missed ?? 0),
    next_fire_at: iso(raw.next_fire_at),
    last_fire_at: iso(raw.last_fire_at),
    last_root_task_id: raw.last_root_task_id == null ? null : String(raw.last_root_task_id),
    version: Number(raw.version ?? 0),
    webhook_id: raw.webhook_id == null ? null : String(raw.webhook_id),
    webhook_key: raw.webhook_key == null ? null : String(raw.webhook_key),
    fire_salt: String(raw.fire_salt ?? ''),
    created_at: iso(raw.created_at) ?? '',
    updated_at: iso(raw.updated_at) ?? '',
  };
}

/** A `schedules_fires` row as read from either database (its enum columns cast: written by this plugin). */
export function toFireRow(raw: Record<string, unknown>): FireRow {
  const inputs = json<unknown>(raw.inputs);
  return {
    schedule_id: String(raw.schedule_id),
    fire_key: String(raw.fire_key),
    fire_at: iso(raw.fire_at) ?? '',
    kind: String(raw.kind) as FireKind,
    state: String(raw.state) as FireState,
    root_task_id: raw.root_task_id == null ? null : String(raw.root_task_id),
    inputs: isRecord(inputs) ? inputs : null,
    owner: raw.owner == null ? null : String(raw.owner),
    claimed_until: iso(raw.claimed_until),
    fired_at: iso(raw.fired_at) ?? '',
    error: raw.error == null ? null : String(raw.error),
  };
}

/** How one fire ended up. */
export interface FireOutcome {
  state: 'started' | 'skipped' | 'failed';
  root_task_id: string | null;
  error: string | null;
}
