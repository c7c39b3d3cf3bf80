import { calendarOf, type TriggerSpec } from './triggers.ts';

/** The most due times one claim fires as on time (a long grace with a frequent trigger). */
export const MAX_ON_TIME = 1000;
/** Late due times of a cron counted one by one; a longer downtime counts this many misses. */
export const MAX_LATE_COUNTED = 100;

/** The due times of one schedule at a claim. */
export interface DueTimes {
  /** Due times within the grace, ascending (at most {@link MAX_ON_TIME}). */
  onTime: number[];
  /** The latest `keepLate` due times beyond the grace, ascending. */
  late: number[];
  /** How many due times were beyond the grace (a cron's counted up to {@link MAX_LATE_COUNTED}). */
  lateTotal: number;
  /** The latest due time (an interval's next phase counts from it). */
  lastDue: number;
}

/**
 * The fire times of `spec` from `firstDue` up to `nowMs` (all due now), split at the grace: those
 * on time, and the latest `keepLate` of the later ones. Works from both ends (forward from the
 * grace's start, backwards from it for the late ones), so a long downtime of a frequent cron costs
 * a bounded number of steps, never a walk over every missed time.
 */
export function dueTimes(
  spec: TriggerSpec,
  firstDue: number,
  nowMs: number,
  graceMs: number,
  keepLate: number,
): DueTimes {
  const until = spec.ends_at === null ? nowMs : Math.min(nowMs, Date.parse(spec.ends_at));
  const boundary = nowMs - graceMs;
  if (spec.trigger_type === 'interval') {
    const step = (spec.interval_s ?? 1) * 1000;
    const at = (k: number) => firstDue + k * step;
    const total = until < firstDue ? 1 : Math.floor((until - firstDue) / step) + 1;
    const lateTotal = Math.min(total, Math.max(0, Math.ceil((boundary - firstDue) / step)));
    const onFrom = Math.max(lateTotal, total - MAX_ON_TIME);
    return {
      onTime: Array.from({ length: total - onFrom }, (_, i) => at(onFrom + i)),
      late: Array.from({ length: Math.min(keepLate, lateTotal) }, (_, i) =>
        at(lateTotal - Math.min(keepLate, lateTotal) + i),
      ),
      lateTotal,
      lastDue: at(total - 1),
    };
  }
  const calendar = calendarOf(spec);
  const onTime: number[] = [];
  let next: number | null = firstDue >= boundary ? firstDue : calendar.next(boundary - 1, firstDue);
  for (; next !== null && next <= until && onTime.length < MAX_ON_TIME; next = calendar.next(next, firstDue))
    onTime.push(next);
  let lateTotal = 0;
  for (let t: number | null = firstDue; t !== null && t < boundary && lateTotal < MAX_LATE_COUNTED;) {
    lateTotal++;
    t = calendar.next(t, firstDue);
  }
  const late = firstDue < boundary ? [firstDue, ...calendar.previous(keepLate, boundary)] : [];
  const kept = [...new Set(late)].filter((time) => time >= firstDue && time < boundary).sort((a, b) => a - b);
  const lateKept = keepLate > 0 ? kept.slice(-keepLate) : [];
  return { onTime, late: lateKept, lateTotal, lastDue: onTime.at(-1) ?? kept.at(-1) ?? firstDue };
}
