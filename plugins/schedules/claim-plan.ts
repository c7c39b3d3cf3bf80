import type { ClaimChange } from './schedule-store.ts';
import type { FireRow, ScheduleRow } from './schedule-row.ts';
import { dueTimes, nextFireAfter } from './triggers.ts';

/** What a claim needs besides the schedule: who claims, when, for how long, and the grace of a late fire. */
export interface ClaimContext {
  owner: string;
  nowMs: number;
  leaseMs: number;
  graceMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What claiming a due schedule does: which of its due times fire (catch_up: `none` fires only a
 * time still within the grace, `one` the latest, `all` the latest `catch_up_max`; `max_runs`
 * caps them), how many are missed, and its next fire time (after now, keeping an interval's
 * phase; none once `max_runs` is reached or a `once` has fired).
 */
export function planClaim(row: ScheduleRow, context: ClaimContext): ClaimChange {
  const { nowMs, graceMs } = context;
  const firstDue = Date.parse(row.next_fire_at ?? '');
  const keep = row.catch_up === 'all' ? row.catch_up_max : 1;
  const { times, total } = dueTimes(row, firstDue, nowMs, keep);
  const lastDue = times.at(-1) ?? firstDue;
  let firing = row.catch_up === 'none' ? times.filter((time) => nowMs - time <= graceMs) : times;
  const left = row.max_runs === null ? Infinity : Math.max(0, row.max_runs - row.runs);
  firing = firing.slice(Math.max(0, firing.length - left));
  const ended = row.runs + firing.length >= (row.max_runs ?? Infinity);
  const next = ended ? null : nextFireAfter(row, nowMs, lastDue);
  const fires: FireRow[] = firing.map((time) => ({
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
  return {
    id: row.id,
    version: row.version,
    next_fire_at: next === null ? null : iso(next),
    runs: fires.length,
    missed: Math.max(0, total - fires.length),
    last_fire_at: fires.length ? iso(lastDue) : null,
    fires,
  };
}
