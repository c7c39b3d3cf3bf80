import type { ClaimChange } from './schedule-store.ts';
import type { FireRow, ScheduleRow } from './schedule-row.ts';
import { dueTimes } from './due-times.ts';
import { nextFireAfter } from './triggers.ts';

/** What a claim needs besides the schedule: who claims, when, for how long, and the grace of a late fire. */
export interface ClaimContext {
  owner: string;
  nowMs: number;
  leaseMs: number;
  graceMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What claiming a due schedule does: its due times within the grace fire as on time (kind
 * `scheduled`); those later go by `catch_up` — `none` fires none of them, `one` the latest,
 * `all` the latest `catch_up_max` (kind `catch_up`); `max_runs` keeps the latest it allows; the
 * rest are missed. Its next fire time comes after now, keeping an interval's phase (none once
 * `max_runs` is reached or a `once` has fired).
 */
export function planClaim(row: ScheduleRow, context: ClaimContext): ClaimChange {
  const { nowMs, graceMs } = context;
  const firstDue = Date.parse(row.next_fire_at ?? '');
  const keepLate = row.catch_up === 'none' ? 0 : row.catch_up === 'one' ? 1 : row.catch_up_max;
  const due = dueTimes(row, firstDue, nowMs, graceMs, keepLate);
  const left = row.max_runs === null ? Infinity : Math.max(0, row.max_runs - row.runs);
  const firing = [...due.late, ...due.onTime];
  const kept = firing.slice(Math.max(0, firing.length - left));
  const ended = row.runs + kept.length >= (row.max_runs ?? Infinity);
  const next = ended ? null : nextFireAfter(row, nowMs, due.lastDue);
  const fires: FireRow[] = kept.map((time) => ({
    schedule_id: row.id,
    fire_key: iso(time),
    fire_at: iso(time),
    kind: nowMs - time <= graceMs ? 'scheduled' : 'catch_up',
    state: 'claimed',
    root_task_id: null,
    inputs: null,
    owner: context.owner,
    claimed_until: iso(nowMs + context.leaseMs),
    fired_at: iso(nowMs),
    error: null,
  }));
  const onTimeKept = fires.filter((fire) => fire.kind === 'scheduled').length;
  return {
    id: row.id,
    version: row.version,
    next_fire_at: next === null ? null : iso(next),
    runs: fires.length,
    missed: Math.max(0, due.lateTotal - (fires.length - onTimeKept)) + (due.onTime.length - onTimeKept),
    last_fire_at: kept.length ? iso(kept.at(-1) ?? due.lastDue) : null,
    fires,
  };
}
