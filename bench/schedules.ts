import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRecord, type App } from 'apflow';
import { peakRssMb, type Figures } from './bench-app.ts';
import { compareFires, readFires, rootTimes, spread, type MadeSchedule } from './schedules-fires.ts';

/** The part of the schedules plugin's service the workload uses (the bench does not import plugins). */
interface SchedulesService {
  call(method: string, params: unknown): Promise<unknown>;
}

const COUNT = Number(process.env.SCHEDULES_COUNT ?? 1000);
/** Seconds of each CPU measurement at rest, and of fires measured (after the first 2 s of firing). */
const IDLE_S = Number(process.env.SCHEDULES_IDLE_S ?? 10);
const FIRING_S = Number(process.env.SCHEDULES_FIRING_S ?? 10);
const WARM_UP_MS = 2000;
/**
 * Schedules created all at once take their phase (interval anchor) within a few ms of each other:
 * every second all are due together. `SCHEDULES_SPREAD=1` creates them over a second instead.
 */
const SPREAD = process.env.SCHEDULES_SPREAD === '1';
const STEP_MS = 1000;
/** Not due for months: the scheduler keeps looking at the table, nothing fires. */
const AT_REST_CRON = '0 0 1 1 *';
const template = [{ name: 'tick', schemas: { method: 'bench_noop' } }];

/** The process's CPU (user + system, every thread) over `seconds`, as % of one core. */
async function cpuPercent(seconds: number): Promise<number> {
  const before = process.cpuUsage();
  const start = performance.now();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  return round(((used.user + used.system) / 1000 / (performance.now() - start)) * 100);
}

/** The shortest arc of the circle of `STEP_MS` holding every phase, in ms. */
function spreadOf(phases: number[]): number {
  const sorted = [...phases].sort((a, b) => a - b);
  let widestGap = 0;
  // Indexes within the array (noUncheckedIndexedAccess cannot tell).
  for (let i = 0; i < sorted.length; i++) {
    const next = i + 1 < sorted.length ? (sorted[i + 1] as number) : (sorted[0] as number) + STEP_MS;
    widestGap = Math.max(widestGap, next - (sorted[i] as number));
  }
  return STEP_MS - widestGap;
}

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

/** Creates `COUNT` schedules (all at once, or over one second with `spread`); answers each one's id and first fire time. */
async function createMany(
  service: SchedulesService,
  trigger: Record<string, unknown>,
  spread = false,
): Promise<MadeSchedule[]> {
  return Promise.all(
    Array.from({ length: COUNT }, async (_, n) => {
      if (spread) await sleep((n * STEP_MS) / COUNT);
      const answer = await service.call('create', { name: `bench ${n}`, tasks: template, ...trigger });
      if (!isRecord(answer) || typeof answer.id !== 'string' || typeof answer.next_fire_at !== 'string')
        throw new Error(`schedules.create answered ${JSON.stringify(answer)}`);
      return { id: answer.id, firstMs: Date.parse(answer.next_fire_at) };
    }),
  );
}

/**
 * The fires due before `beforeMs` once each is started (or skipped, or failed) and each started
 * one's tree root has begun, with their roots' times. Bounded: what is still pending after 30 s
 * is left to the check (a fire only claimed) or counted (`not_started`).
 */
async function settledFires(app: App, beforeMs: number) {
  const deadline = Date.now() + 30_000;
  await sleep(Math.max(0, beforeMs + 500 - Date.now()));
  const roots = new Map<string, { createdMs: number; startedMs: number | null }>();
  for (;;) {
    const fires = await readFires(app, beforeMs);
    const started = (id: string) => typeof roots.get(id)?.startedMs === 'number';
    const waiting = fires.flatMap((fire) => (fire.rootId !== null && !started(fire.rootId) ? [fire.rootId] : []));
    for (const [id, times] of await rootTimes(app, waiting)) roots.set(id, times);
    const pending = fires.some((fire) => fire.state === 'claimed' || (fire.rootId !== null && !started(fire.rootId)));
    if (!pending || Date.now() >= deadline) return { fires, roots };
    await sleep(500);
  }
}

/**
 * 1,000 schedules on one in-process server (SQLite file): the CPU they cost at rest (not due)
 * against the same server with none, then 1,000 firing every second: how late each fire was
 * claimed and its tree started, checked to fire exactly once per schedule and due time.
 */
export async function measureSchedules(app: App): Promise<Figures> {
  // The kernel does not know the plugin's service: its shape is declared above.
  const service = (app.service as (name: string) => SchedulesService | undefined)('schedules');
  if (!service) throw new Error('the schedules plugin is not loaded');
  const load_1m = round(loadavg()[0] ?? 0);

  await sleep(2000);
  const idle_cpu_empty_pct = await cpuPercent(IDLE_S);
  const resting = await createMany(service, { cron: AT_REST_CRON });
  await sleep(2000);
  const idle_cpu_schedules_pct = await cpuPercent(IDLE_S);
  await Promise.all(resting.map(({ id }) => service.call('delete', { id })));

  const createStart = performance.now();
  const made = await createMany(service, { interval_s: STEP_MS / 1000 }, SPREAD);
  const create_ms = Math.round(performance.now() - createStart);
  // Measured: fires due in [from, to), once every schedule has fired for 2 s.
  const from = Math.max(...made.map((schedule) => schedule.firstMs)) + WARM_UP_MS;
  const to = from + FIRING_S * 1000;
  await sleep(from - Date.now());
  const firing_cpu_pct = await cpuPercent((to - Date.now()) / 1000);
  const { fires, roots } = await settledFires(app, to);
  const check = compareFires(made, fires, STEP_MS, to);
  const measured = fires.filter((fire) => fire.fireMs >= from);
  const claim = spread(measured.map((fire) => fire.claimedMs - fire.fireMs));
  const created = spread(
    measured.flatMap((fire) => {
      const root = fire.rootId ? roots.get(fire.rootId) : undefined;
      return root ? [root.createdMs - fire.fireMs] : [];
    }),
  );
  const startDelays = measured.flatMap((fire) => {
    const started = fire.rootId ? roots.get(fire.rootId)?.startedMs : null;
    return typeof started === 'number' ? [started - fire.fireMs] : [];
  });
  const start = spread(startDelays);
  const figures: Figures = {
    schedules: COUNT,
    create_ms,
    phase_spread_ms: spreadOf(made.map((schedule) => schedule.firstMs % STEP_MS)),
    fires_checked: check.due,
    fires_measured: measured.length,
    fires_per_s: Math.round(measured.length / FIRING_S),
    skipped: measured.filter((fire) => fire.state === 'skipped').length,
    not_started: measured.filter((fire) => fire.state === 'started').length - startDelays.length,
    claim_p50_ms: claim.p50,
    claim_p99_ms: claim.p99,
    claim_max_ms: claim.max,
    created_p50_ms: created.p50,
    created_p99_ms: created.p99,
    start_p50_ms: start.p50,
    start_p99_ms: start.p99,
    start_max_ms: start.max,
    idle_cpu_empty_pct,
    idle_cpu_schedules_pct,
    idle_cpu_from_schedules_pct: round(idle_cpu_schedules_pct - idle_cpu_empty_pct),
    firing_cpu_pct,
    load_1m,
    load_1m_end: round(loadavg()[0] ?? 0),
    peak_rss_mb: peakRssMb(),
  };
  const failed = fires.filter((fire) => fire.state === 'failed' || fire.state === 'claimed');
  if (check.missing || check.extra || failed.length)
    throw new Error(
      `fires: ${check.missing} of ${check.due} due times did not fire (first: ${check.firstMissing ?? '-'}), ` +
        `${check.extra} fired at a time not due (first: ${JSON.stringify(check.firstExtra ?? null)}), ` +
        `${failed.length} failed or never started (first: ${failed[0] ? `${failed[0].state} ${failed[0].error ?? ''}` : '-'}); ` +
        `figures: ${JSON.stringify(figures)}`,
    );
  return figures;
}
