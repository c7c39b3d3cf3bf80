import { printTable } from './print.ts';

/** The fields of a schedule (as `schedules.*` answer it) that `apflow schedules list` shows in its table. */
export interface ScheduleView {
  id: string;
  name: string;
  trigger: 'cron' | 'interval' | 'once' | 'webhook';
  cron: string | null;
  timezone: string;
  interval_s: number | null;
  at: string | null;
  enabled: boolean;
  next_fire_at: string | null;
  runs: number;
  webhook: boolean;
}

/** The trigger in a few words: `cron 0 9 * * 1 Europe/Berlin`, `every 60s`, `once at …`, `webhook`. */
export function describeTrigger(schedule: ScheduleView): string {
  const timed =
    schedule.trigger === 'cron'
      ? `cron ${schedule.cron ?? ''} ${schedule.timezone}`
      : schedule.trigger === 'interval'
        ? `every ${schedule.interval_s ?? '?'}s`
        : schedule.trigger === 'once'
          ? `once at ${schedule.at ?? '?'}`
          : null;
  if (timed === null) return 'webhook';
  return schedule.webhook ? `${timed} + webhook` : timed;
}

/** Prints the schedules as a table: id, name, trigger, enabled, next fire, runs. */
export function printScheduleTable(schedules: readonly ScheduleView[]): void {
  const rows = schedules.map((schedule) => [
    schedule.id,
    schedule.name,
    describeTrigger(schedule),
    schedule.enabled ? 'yes' : 'no',
    schedule.next_fire_at ?? '-',
    String(schedule.runs),
  ]);
  printTable(['ID', 'NAME', 'TRIGGER', 'ENABLED', 'NEXT FIRE', 'RUNS'], rows);
}
