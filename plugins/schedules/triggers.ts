import { ApflowError } from 'apflow';
import { Cron } from 'croner';
import type { ScheduleRow } from './schedule-row.ts';

/** What a schedule's fire times follow from. */
export type TriggerSpec = Pick<
  ScheduleRow,
  'trigger_type' | 'cron' | 'timezone' | 'interval_s' | 'at_time' | 'starts_at' | 'ends_at'
>;

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

/** A trigger's calendar: one croner job kept for every question about one schedule. */
export interface Calendar {
  /**
   * The first fire time strictly after `afterMs`, or null when there is none (a past `once`, a
   * webhook-only schedule, past `ends_at`). An interval counts from `anchorMs` (its last due
   * time, or when it was created or resumed), so its phase stays. Nothing fires before
   * `starts_at`; an interval's first fire is at `starts_at` itself.
   */
  next(afterMs: number, anchorMs: number): number | null;
  /** Up to `count` cron times before `beforeMs`, ascending (a cron's; none for other triggers). */
  previous(count: number, beforeMs: number): number[];
}

/** The calendar of `spec`. */
export function calendarOf(spec: TriggerSpec): Calendar {
  const job = spec.trigger_type === 'cron' ? cronOf(spec.cron ?? '', spec.timezone) : undefined;
  const starts = spec.starts_at === null ? -Infinity : Date.parse(spec.starts_at);
  const ends = spec.ends_at === null ? Infinity : Date.parse(spec.ends_at);
  const raw = (afterMs: number, anchorMs: number): number | null => {
    if (job) return job.nextRun(new Date(afterMs))?.getTime() ?? null;
    if (spec.trigger_type === 'interval') {
      const step = (spec.interval_s ?? 1) * 1000;
      if (afterMs < anchorMs) return anchorMs;
      return anchorMs + (Math.floor((afterMs - anchorMs) / step) + 1) * step;
    }
    if (spec.trigger_type === 'once') {
      const at = Date.parse(spec.at_time ?? '');
      return at > afterMs ? at : null;
    }
    return null;
  };
  return {
    next(afterMs, anchorMs) {
      const next = raw(Math.max(afterMs, starts - 1), Math.max(anchorMs, starts));
      return next === null || next > ends ? null : next;
    },
    previous(count, beforeMs) {
      if (!job || count <= 0) return [];
      return job
        .previousRuns(count, new Date(beforeMs))
        .map((date) => date.getTime())
        .filter((time) => time < beforeMs && time >= starts && time <= ends)
        .reverse();
    },
  };
}

/** The first fire time of `spec` strictly after `afterMs` (see {@link Calendar.next}). */
export const nextFireAfter = (spec: TriggerSpec, afterMs: number, anchorMs: number) =>
  calendarOf(spec).next(afterMs, anchorMs);

/** Up to `count` fire times from `firstMs` on (it included when it is one), ascending, within `ends_at`. */
export function upcoming(spec: TriggerSpec, firstMs: number, count: number): number[] {
  const calendar = calendarOf(spec);
  const times: number[] = [];
  for (let at = calendar.next(firstMs - 1, firstMs); at !== null && times.length < count;) {
    times.push(at);
    at = calendar.next(at, firstMs);
  }
  return times;
}
