import { isRecord, type App } from 'apflow';

/** A schedule the workload made: its id and its first fire time (ms). */
export interface MadeSchedule {
  id: string;
  firstMs: number;
}

/** One fire as the schedules plugin stored it (`schedules_fires`), times in ms. */
export interface StoredFire {
  scheduleId: string;
  fireMs: number;
  claimedMs: number;
  state: string;
  kind: string;
  rootId: string | null;
  error: string | null;
}

const ms = (value: unknown) => new Date(value as string).getTime();

/** Every timed fire stored with a due time before `beforeMs`. */
export async function readFires(app: App, beforeMs: number): Promise<StoredFire[]> {
  const rows = await app.storage.sql.select(
    `SELECT schedule_id, fire_at, fired_at, state, kind, root_task_id, error FROM schedules_fires
     WHERE fire_at < ${app.storage.sql.time}`,
    [new Date(beforeMs).toISOString()],
  );
  return rows.filter(isRecord).map((row) => ({
    scheduleId: String(row.schedule_id),
    fireMs: ms(row.fire_at),
    claimedMs: ms(row.fired_at),
    state: String(row.state),
    kind: String(row.kind),
    rootId: typeof row.root_task_id === 'string' ? row.root_task_id : null,
    error: typeof row.error === 'string' ? row.error : null,
  }));
}

/**
 * Compares the fires stored with the ones due: each schedule must have fired exactly once at each
 * of its due times (its first fire, then every `stepMs`) before `beforeMs`. Answers the due times
 * that have no fire and the fires at a time that was not due (a second fire at one time cannot be
 * stored: (schedule, fire time) is the table's key).
 */
export function compareFires(
  made: readonly MadeSchedule[],
  fires: readonly StoredFire[],
  stepMs: number,
  beforeMs: number,
) {
  const seen = new Map<string, Set<number>>();
  for (const fire of fires) {
    const times = seen.get(fire.scheduleId) ?? new Set<number>();
    times.add(fire.fireMs);
    seen.set(fire.scheduleId, times);
  }
  let due = 0;
  let missing = 0;
  let firstMissing: string | undefined;
  const expected = new Set<string>();
  for (const schedule of made) {
    const times = seen.get(schedule.id) ?? new Set<number>();
    for (let at = schedule.firstMs; at < beforeMs; at += stepMs) {
      due += 1;
      expected.add(`${schedule.id}@${at}`);
      if (times.has(at)) continue;
      missing += 1;
      firstMissing ??= `${schedule.id} at ${new Date(at).toISOString()}`;
    }
  }
  const extra = fires.filter((fire) => !expected.has(`${fire.scheduleId}@${fire.fireMs}`));
  return { due, missing, firstMissing, extra: extra.length, firstExtra: extra[0] };
}

/** When each fire's tree root was created and started (ms; null when not started), by root id. */
export async function rootTimes(app: App, rootIds: readonly string[]) {
  const times = new Map<string, { createdMs: number; startedMs: number | null }>();
  for (let i = 0; i < rootIds.length; i += 500)
    for (const root of await app.tasks.getMany(rootIds.slice(i, i + 500)))
      times.set(root.id, {
        createdMs: ms(root.created_at),
        startedMs: root.started_at === null ? null : ms(root.started_at),
      });
  return times;
}

/** p50, p99 and max of `values` (ms, rounded to 0.1), or -1 each when there are none. */
export function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length ? Math.round((sorted[Math.floor(q * (sorted.length - 1))] as number) * 10) / 10 : -1;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}
