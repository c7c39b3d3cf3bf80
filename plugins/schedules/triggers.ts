import { ApflowError } from 'apflow';
import { Cron } from 'croner';
import type { ScheduleRow } from './schedule-row.ts';

/** What a schedule's fire times follow from. */
export type TriggerSpec = Pick<
  ScheduleRow,
  'trigger_type' | 'cron' | 'timezone' | 'interval_s' | 'at_time' | 'starts_at' | 'ends_at'
>;

/** Most due times looked at per schedule and look (a cron missed for longer counts this many misses). */
export const MAX_ENUMERATED = 10_000;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/** A croner job that never runs by itself: only its calendar is used. */
function cronOf(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
}

/** Throws a clear error when `expression` is not a 5- or 6-field cron expression croner reads, or `timezone` unknown. */
export function checkCron(expression: string, timezone: string): void {
  checkTimezone(timezone);
  try {
    const job = cronOf(expression, timezone);
    if (job.nextRun() === null) throw new Error('it never fires');
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw invalid(`cron: '${expression}' is not a cron expression of 5 or 6 fields (${why})`);
  }
}

/** Throws a clear error when `timezone` is not an IANA time zone this server knows. */
export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalid(`timezone: '${timezone}' is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
}

/**
 * The first fire time strictly after `afterMs`, or null when there is none (a past `once`, a
 * webhook-only schedule, or past `ends_at`). An interval counts from `anchorMs` (its last due
 * time, or when it was created or resumed), so its phase stays.
 */
export function nextFireAfter(spec: TriggerSpec, afterMs: number, anchorMs: number): number | null {
  // Nothing fires before starts_at; an interval's first fire is at starts_at itself.
  const starts = spec.starts_at === null ? -Infinity : Date.parse(spec.starts_at);
  const next = rawNext(spec, Math.max(afterMs, starts - 1), Math.max(anchorMs, starts));
  if (next === null) return null;
  if (spec.ends_at !== null && next > Date.parse(spec.ends_at)) return null;
  return next;
}

function rawNext(spec: TriggerSpec, afterMs: number, anchorMs: number): number | null {
  switch (spec.trigger_type) {
    case 'cron':
      return (
        cronOf(spec.cron ?? '', spec.timezone)
          .nextRun(new Date(afterMs))
          ?.getTime() ?? null
      );
    case 'interval': {
      const step = (spec.interval_s ?? 1) * 1000;
      if (afterMs < anchorMs) return anchorMs;
      return anchorMs + (Math.floor((afterMs - anchorMs) / step) + 1) * step;
    }
    case 'once': {
      const at = Date.parse(spec.at_time ?? '');
      return at > afterMs ? at : null;
    }
    default:
      return null;
  }
}

/** Due times enumerated forward before looking back from now instead (a long downtime of a frequent cron). */
const FORWARD_LIMIT = 1000;

/**
 * The fire times from `firstDue` up to `nowMs` (all due now), ascending: every one of them, or,
 * after a long downtime, the latest {@link MAX_ENUMERATED}; and how many there were in all (for
 * a cron, at most that many are counted).
 */
export function dueTimes(spec: TriggerSpec, firstDue: number, nowMs: number): { times: number[]; total: number } {
  const until = spec.ends_at === null ? nowMs : Math.min(nowMs, Date.parse(spec.ends_at));
  if (spec.trigger_type === 'interval') {
    const step = (spec.interval_s ?? 1) * 1000;
    const total = until < firstDue ? 1 : Math.floor((until - firstDue) / step) + 1;
    const from = Math.max(0, total - MAX_ENUMERATED);
    return { times: Array.from({ length: total - from }, (_, i) => firstDue + (from + i) * step), total };
  }
  const times = [firstDue];
  for (let at = firstDue; ;) {
    const next = nextFireAfter(spec, at, at);
    if (next === null || next > until) return { times, total: times.length };
    if (times.push(next) > FORWARD_LIMIT) break;
    at = next;
  }
  // Too many to walk from the first: the latest ones, looked up backwards from now.
  const recent = cronOf(spec.cron ?? '', spec.timezone)
    .previousRuns(MAX_ENUMERATED, new Date(until + 1))
    .map((date) => date.getTime())
    .filter((time) => time >= firstDue)
    .reverse();
  return { times: recent, total: recent.length };
}

/** Up to `count` fire times from `firstMs` on (it included when it is one), ascending, within `ends_at`. */
export function upcoming(spec: TriggerSpec, firstMs: number, count: number): number[] {
  const times: number[] = [];
  for (let at = nextFireAfter(spec, firstMs - 1, firstMs); at !== null && times.length < count;) {
    times.push(at);
    at = nextFireAfter(spec, at, firstMs);
  }
  return times;
}
