import { loadavg } from 'node:os';
import { withApp, type Figures } from './bench-app.ts';
import { createSleepers, executeAll, freshStore } from './durable-sleepers.ts';
import { waitingMemory } from './durable-timers-memory.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';
import { spread } from './schedules-fires.ts';

/** Sleeping tasks in each round. */
const TASKS = Number(process.env.DURABLE_TIMERS_TASKS ?? 10_000);
/** Sleepers per tree in the main rounds: 100 trees of a no-op root and 100 sleeping children. */
const PER_TREE = Number(process.env.DURABLE_TIMERS_PER_TREE ?? 100);
/** `engine.concurrency` of the second round (the first runs with the default, or `BENCH_ENGINE`'s). */
const HIGH = Number(process.env.DURABLE_TIMERS_CONCURRENCY ?? 1000);
/** `DURABLE_TIMERS_FLAT=0` leaves out the rounds of single-task trees, `DURABLE_TIMERS_PG=0` PostgreSQL's. */
const FLAT = process.env.DURABLE_TIMERS_FLAT !== '0';
const PG = process.env.DURABLE_TIMERS_PG !== '0';
const SLEEP_S = 1;

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;
const rss = () => process.memoryUsage().rss;

/**
 * `TASKS` tasks sleeping 1 s, executed at once: lateness of each resumed run against its wake
 * time, the time until every tree ended, and RSS sampled every 100 ms (the peak, and when most
 * tasks were waiting).
 */
async function timersRound(perTree: number, engine?: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return withApp(
    async (app) => {
      const store = freshStore(TASKS);
      const roots = await createSleepers(app, TASKS, perTree, SLEEP_S);
      const before = rss();
      let peak = before;
      let mostWaiting = 0;
      let rssMostWaiting = before;
      const start = performance.now();
      const sampler = setInterval(() => {
        const now = rss();
        peak = Math.max(peak, now);
        if (store.waiting > mostWaiting) [mostWaiting, rssMostWaiting] = [store.waiting, now];
      }, 100);
      try {
        const outcomes = await Promise.all(await executeAll(app, roots));
        const ms = performance.now() - start;
        const failed = outcomes.filter((outcome) => outcome.status !== 'completed');
        if (failed.length) throw new Error(`${failed.length} trees ended ${failed[0]?.status}`);
        if (store.resumed + store.unslept !== TASKS)
          throw new Error(`${store.resumed} tasks resumed and ${store.unslept} never slept, of ${TASKS}`);
        const late = spread(Array.from(store.late.subarray(0, store.resumed)));
        return {
          late,
          all_done_ms: Math.round(ms),
          first_runs_ms: Math.round(store.lastSleep - start),
          resumes_per_s: Math.round(store.resumed / Math.max(0.001, (store.lastResume - store.firstResume) / 1000)),
          never_slept: store.unslept,
          most_waiting: mostWaiting,
          rss_before_mb: mb(before),
          rss_most_waiting_mb: mb(rssMostWaiting),
          peak_rss_mb: mb(peak),
        };
      } finally {
        clearInterval(sampler);
      }
    },
    engine,
    extra,
  );
}

/** 1 s timers in the bare process: what the machine's timers alone give (ms late, each). */
async function bareTimers(): Promise<number[]> {
  const late = new Float64Array(TASKS);
  await Promise.all(
    Array.from({ length: TASKS }, (_, i) => {
      const due = Date.now() + SLEEP_S * 1000;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          late[i] = Date.now() - due;
          resolve();
        }, SLEEP_S * 1000),
      );
    }),
  );
  return Array.from(late);
}

/** The main round's figures under `prefix`, with the lateness's ratio to the bare timers' p99. */
function figuresOf(prefix: string, result: Awaited<ReturnType<typeof timersRound>>, bareP99: number): Figures {
  const { late, ...rest } = result;
  const figures: Figures = {
    [`${prefix}resume_lateness_p50_ms`]: late.p50,
    [`${prefix}resume_lateness_p99_ms`]: late.p99,
    [`${prefix}resume_lateness_max_ms`]: late.max,
    [`${prefix}resume_lateness_p99_vs_bare`]: round(late.p99 / Math.max(bareP99, 1)),
  };
  for (const [key, value] of Object.entries(rest)) figures[`${prefix}${key}`] = value;
  return figures;
}

/** The main round on a fresh PostgreSQL database, or why it was skipped. */
async function postgresRound(bareP99: number): Promise<Figures> {
  const problem = await postgresProblem();
  if (problem) return { pg_skipped: problem };
  const database = await createPostgresDatabase();
  try {
    const result = await timersRound(PER_TREE, undefined, { database: { url: database.url } });
    return figuresOf('pg_', result, bareP99);
  } finally {
    await database.drop();
  }
}

/**
 * 10,000 tasks each suspended on a 1 s durable timer and resumed (issue 24), on in-process apflow
 * servers: the memory waiting tasks hold (first, in the fresh process), then resume lateness
 * against 10,000 bare `setTimeout`s of the same process, time to the end and RSS; again at a
 * higher `engine.concurrency`, as single-task trees, and on PostgreSQL.
 */
export async function measureDurableTimers(): Promise<Figures> {
  const load_1m = round(loadavg()[0] ?? 0, 2);
  const memory = await waitingMemory(TASKS, PER_TREE);
  const flatMemory = FLAT ? await waitingMemory(TASKS, 1) : undefined;
  const bare = spread(await bareTimers());
  // The engine settings withApp takes by default: BENCH_ENGINE's, else the defaults.
  const main = await timersRound(PER_TREE);
  const high = await timersRound(PER_TREE, { concurrency: HIGH });
  const flat = FLAT ? await timersRound(1) : undefined;
  const pg = PG ? await postgresRound(bare.p99) : {};
  return {
    tasks: TASKS,
    per_tree: PER_TREE,
    bare_p50_ms: bare.p50,
    bare_p99_ms: bare.p99,
    bare_max_ms: bare.max,
    ...figuresOf('', main, bare.p99),
    peak_rss_increment_mb: main.peak_rss_mb - main.rss_before_mb,
    rss_per_waiting_task_bytes: memory.rss_per_task,
    heap_per_waiting_task_bytes: memory.heap_per_task,
    marginal_rss_per_waiting_task_bytes: memory.marginal_rss,
    marginal_heap_per_waiting_task_bytes: memory.marginal_heap,
    memory_rss_idle_mb: memory.rss_idle_mb,
    memory_rss_waiting_mb: memory.rss_waiting_mb,
    high_concurrency: HIGH,
    ...figuresOf('high_', high, bare.p99),
    ...(flat ? figuresOf('flat_', flat, bare.p99) : {}),
    ...(flatMemory
      ? {
          flat_rss_per_waiting_task_bytes: flatMemory.rss_per_task,
          flat_heap_per_waiting_task_bytes: flatMemory.heap_per_task,
          flat_marginal_heap_per_waiting_task_bytes: flatMemory.marginal_heap,
        }
      : {}),
    ...pg,
    load_1m,
    load_1m_end: round(loadavg()[0] ?? 0, 2),
  };
}
