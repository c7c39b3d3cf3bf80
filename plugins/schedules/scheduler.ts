import type { PluginApp } from 'apflow';
import { planClaim, type ClaimContext } from './claim-plan.ts';
import type { FireRunner } from './fire-runner.ts';
import type { ScheduleMetrics } from './schedule-metrics.ts';
import type { FireRow, ScheduleRow } from './schedule-row.ts';
import type { ClaimChange, ScheduleStore } from './schedule-store.ts';
import type { SchedulesConfig } from './settings.ts';

// Looks come at most this often: fires due within it are claimed together, in one transaction.
const MIN_GAP_MS = 20;
const STALE_BATCH = 100;
// Old fire records are pruned at most this often per server, this many at a time.
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 1000;

/**
 * The scheduler of one server (each worker of a `--workers` server has its own): it looks at the
 * schedules table when the soonest fire is due (and every `poll_s` for changes made elsewhere),
 * claims the due schedules (a claim applies only to the version of the schedule it read, so one
 * server wins each fire), and starts their fires. Fires a stopped server had claimed but not
 * started are taken over once their claim runs out.
 */
export function createScheduler(
  app: PluginApp,
  store: ScheduleStore,
  runner: FireRunner,
  settings: SchedulesConfig,
  metrics: ScheduleMetrics,
) {
  const leaseMs = app.config.engine.lease_s * 1000;
  const pollMs = settings.poll_s * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = true;
  let again = false;
  let lastLook = 0;
  let current: Promise<void> | undefined;
  let prunedAt = 0;
  // Fires of one schedule start one after the other (overlap decides on the run before), others side by side.
  const chains = new Map<string, Promise<void>>();

  function startFire(schedule: ScheduleRow, fire: FireRow): void {
    const before = chains.get(schedule.id) ?? Promise.resolve();
    // runner.start records failures itself; a throw past it is logged, never left unhandled.
    const next = before
      .then(async () => void (await runner.start(schedule, fire)))
      .catch((error: unknown) => app.log.error({ err: error, schedule_id: schedule.id }, 'a schedule fire threw'));
    chains.set(schedule.id, next);
    void next.finally(() => {
      if (chains.get(schedule.id) === next) chains.delete(schedule.id);
    });
  }

  /** The claim of `row`, or, when its fire times cannot be computed any more, one that stops it (logged). */
  function planOrStop(row: ScheduleRow, context: ClaimContext): ClaimChange {
    try {
      return planClaim(row, context);
    } catch (error) {
      app.log.error(
        { err: error, schedule_id: row.id },
        'a schedule cannot compute its fire times; it is stopped (next_fire_at null): update its trigger',
      );
      return {
        id: row.id,
        version: row.version,
        next_fire_at: null,
        runs: 0,
        missed: 0,
        last_fire_at: null,
        fires: [],
      };
    }
  }

  async function takeOverStale(nowMs: number): Promise<void> {
    const now = new Date(nowMs).toISOString();
    for (const fire of await store.stale(now, STALE_BATCH)) {
      const until = new Date(nowMs + leaseMs).toISOString();
      if (!(await store.takeOver(fire, app.serverId, until, now))) continue;
      Object.assign(fire, { owner: app.serverId, claimed_until: until });
      const schedule = await store.get(fire.schedule_id);
      if (schedule) startFire(schedule, fire);
    }
  }

  /** Claims every due schedule (up to `claim_batch`); true when there may be more. */
  async function claimDue(nowMs: number): Promise<boolean> {
    const now = new Date(nowMs).toISOString();
    const due = await store.due(now, settings.claim_batch);
    if (due.length === 0) return false;
    const context = { owner: app.serverId, nowMs, leaseMs, graceMs: settings.misfire_grace_s * 1000 };
    const changes: ClaimChange[] = [];
    for (const [index, row] of due.entries()) {
      changes.push(planOrStop(row, context));
      // A batch of long downtimes is many calendar steps: let requests in between.
      if (index % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    const { applied, fires } = await store.claim(changes, now);
    const byId = new Map(due.map((row) => [row.id, row]));
    // Misses count once: on the server whose claim applied.
    for (const change of changes) if (applied.has(change.id)) metrics.missed(change.missed);
    for (const fire of fires) {
      metrics.delay(fire, nowMs);
      const schedule = byId.get(fire.schedule_id);
      if (schedule) startFire(schedule, fire);
    }
    return due.length === settings.claim_batch;
  }

  async function look(): Promise<void> {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    let settle: () => void = () => undefined;
    current = new Promise<void>((resolve) => (settle = resolve));
    let more = false;
    let soonest: string | null = null;
    try {
      const nowMs = Date.now();
      lastLook = nowMs;
      await takeOverStale(nowMs);
      more = await claimDue(nowMs);
      if (nowMs - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = nowMs;
        // A webhook's replay key outlives every signature that could replay it (t may be ahead too).
        const keepS = Math.max(settings.fire_retention_s, 2 * settings.webhook_tolerance_s + 60);
        const before = new Date(nowMs - keepS * 1000).toISOString();
        if ((await store.prune(before, PRUNE_BATCH)) === PRUNE_BATCH) prunedAt = 0;
      }
      soonest = await store.soonest();
    } catch (error) {
      app.log.error({ err: error }, 'the scheduler could not look at the schedules');
    } finally {
      running = false;
      settle();
    }
    if (stopped) return;
    const nowMs = Date.now();
    const due = soonest === null ? Infinity : Date.parse(soonest);
    const wait = more || again ? 0 : Math.min(pollMs, Math.max(due - nowMs, lastLook + MIN_GAP_MS - nowMs, 0));
    again = false;
    arm(wait);
  }

  function arm(wait: number): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void look(), wait);
    // The scheduler never keeps a process alive by itself.
    timer.unref();
  }

  return {
    /** Starts looking (a server's engine started). */
    start(): void {
      if (!stopped) return;
      stopped = false;
      arm(0);
    },
    /** Looks now: a schedule was created, changed or resumed here. */
    wake(): void {
      if (!stopped) arm(0);
    },
    /** Stops looking and waits for the fires being started. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
      await Promise.allSettled([...chains.values()]);
    },
  };
}

/** A server's scheduler. */
export type Scheduler = ReturnType<typeof createScheduler>;
