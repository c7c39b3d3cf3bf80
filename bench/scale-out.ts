// The `scale-out` scenario (issue 10): throughput of `apflow serve --workers 1/2/4` on SQLite and
// on PostgreSQL, and of 1 vs 3 servers on one PostgreSQL database, with one workload submitted
// over HTTP JSON-RPC. It starts real servers, so it repeats its own rounds (BENCH_RUNS, default 3)
// and `npm run bench` runs it once; it prints `{runs, median}` as its last stdout line and a
// readable table on stderr.
//   npm run bench -- scale-out
//   SCALE_OUT_TREES=40 SCALE_OUT_TASKS=250 SCALE_OUT_CONFIGS=sqlite_w1,sqlite_w2 npm run bench -- scale-out
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRound } from './scale-out-load.ts';
import { createPostgresDatabase, postgresProblem, startServer, type BenchServer } from './scale-out-servers.ts';

type Figures = Record<string, number | string>;

interface Configuration {
  key: string;
  label: string;
  database: 'sqlite' | 'postgres';
  servers: number;
  workers: number;
}

const all: Configuration[] = [
  { key: 'sqlite_w1', label: 'SQLite, --workers 1', database: 'sqlite', servers: 1, workers: 1 },
  { key: 'sqlite_w2', label: 'SQLite, --workers 2', database: 'sqlite', servers: 1, workers: 2 },
  { key: 'sqlite_w4', label: 'SQLite, --workers 4', database: 'sqlite', servers: 1, workers: 4 },
  { key: 'pg_w1', label: 'PostgreSQL, --workers 1 (= 1 server)', database: 'postgres', servers: 1, workers: 1 },
  { key: 'pg_w2', label: 'PostgreSQL, --workers 2', database: 'postgres', servers: 1, workers: 2 },
  { key: 'pg_w4', label: 'PostgreSQL, --workers 4', database: 'postgres', servers: 1, workers: 4 },
  { key: 'pg_servers3', label: 'PostgreSQL, 3 servers × 1 worker', database: 'postgres', servers: 3, workers: 1 },
];
/** Ratios reported: [figure, numerator, denominator]. */
const ratios: [string, string, string][] = [
  ['sqlite_w2_vs_w1', 'sqlite_w2', 'sqlite_w1'],
  ['sqlite_w4_vs_w1', 'sqlite_w4', 'sqlite_w1'],
  ['pg_w2_vs_w1', 'pg_w2', 'pg_w1'],
  ['pg_w4_vs_w1', 'pg_w4', 'pg_w1'],
  ['pg_servers3_vs_1', 'pg_servers3', 'pg_w1'],
];

const rounds = Number(process.env.BENCH_RUNS ?? 3);
const trees = Number(process.env.SCALE_OUT_TREES ?? 40);
const tasks = Number(process.env.SCALE_OUT_TASKS ?? 250);
const selected = process.env.SCALE_OUT_CONFIGS?.split(',').map((each) => each.trim());
const cores = availableParallelism();
const say = (line: string) => process.stderr.write(`scale-out: ${line}\n`);

/** What is still to stop and remove (servers, databases, folders), also on SIGINT/SIGTERM. */
const open = new Set<() => Promise<void>>();
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal: exit now (the servers module kills what is left on 'exit').
    if (stopping) process.exit(130);
    stopping = true;
    say(`${signal}: stopping the servers and dropping the databases`);
    const closeAll = async () => {
      while (open.size) await Promise.allSettled([...open].map((close) => close()));
    };
    const deadline = new Promise((resolve) => setTimeout(resolve, 20_000));
    void Promise.race([closeAll(), deadline]).finally(() => process.exit(130));
  });
}
const checkStopping = () => {
  if (stopping) throw new Error('stopping');
};

/** A configuration's servers on their own fresh database, between its rounds. */
interface Setup {
  config: Configuration;
  servers: BenchServer[];
  completed: number;
  rates: number[];
  /** How busy the whole machine was during each round, in % of all cores (other sessions' load included). */
  busy: number[];
  close(): Promise<void>;
}

/** Creates the database, starts the servers and runs a warm-up round of the full size. */
async function setUp(config: Configuration): Promise<Setup> {
  checkStopping();
  const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-scale-'));
  const database =
    config.database === 'postgres'
      ? await createPostgresDatabase()
      : { url: `sqlite:${join(dir, 'bench.sqlite')}`, drop: async () => undefined };
  const servers: BenchServer[] = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await Promise.all(servers.map((server) => server.stop()));
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
      open.delete(close);
    })());
  open.add(close);
  try {
    // One after the other: the first applies the migrations, the others find them done.
    for (let i = 0; i < config.servers; i++) {
      checkStopping();
      servers.push(await startServer({ databaseUrl: database.url, workers: config.workers }));
    }
    const setup: Setup = { config, servers, completed: 0, rates: [], busy: [], close };
    // Code hot in every worker, tables and planner statistics filled, before anything is measured
    // (a smaller warm-up left the first measured round slower than the others).
    await round(setup, 'warm');
    return setup;
  } catch (error) {
    await close();
    throw error;
  }
}

async function round(setup: Setup, prefix: string): Promise<{ rate: number; busy: number }> {
  setup.completed += trees * tasks;
  const urls = setup.servers.map((server) => server.url);
  const before = cpuTimes();
  const rate = (await runRound({ urls, trees, tasks, prefix, expectedCompleted: setup.completed })).tasks_per_s;
  const after = cpuTimes();
  return { rate, busy: Math.round((100 * (after.busy - before.busy)) / (after.total - before.total)) };
}

/** CPU time of all cores so far (ms): busy and in total. */
function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

/**
 * Measures the configurations of one database side by side: all are started (then paused with
 * SIGSTOP), and each round runs every one of them in turn, resumed alone, in an order that
 * rotates from round to round; on a shared machine whose load drifts, each configuration then
 * sees about the same background as the others it is compared with.
 */
async function measureGroup(group: Configuration[], failures: Record<string, string>): Promise<Setup[]> {
  const setups: Setup[] = [];
  const fail = (config: Configuration, error: unknown) => {
    // One broken configuration is a figure of its own, not the end of the others.
    failures[config.key] = (error as Error).message.slice(0, 1000);
    say(`${config.label}: FAILED: ${failures[config.key]}`);
  };
  // A paused server's LISTEN connection stops reading PostgreSQL's notification queue, which is
  // shared by every database of the cluster: the queue then grows and every NOTIFY of the server
  // being measured slows down (5x here). So PostgreSQL configurations run one after the other.
  if (group[0]?.database === 'postgres') return measureOneByOne(group, fail);
  try {
    for (const config of group) {
      try {
        const setup = await setUp(config);
        setup.servers.forEach((server) => server.pause());
        setups.push(setup);
      } catch (error) {
        fail(config, error);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < setups.length; i++) {
        const setup = setups[(i + r) % setups.length] as Setup;
        if (failures[setup.config.key]) continue;
        checkStopping();
        setup.servers.forEach((server) => server.resume());
        // Let timers that came due while it was stopped run before the clock starts.
        await new Promise((resolve) => setTimeout(resolve, 200));
        try {
          const { rate, busy } = await round(setup, `r${r}`);
          setup.rates.push(rate);
          setup.busy.push(busy);
        } catch (error) {
          fail(setup.config, error);
        }
        setup.servers.forEach((server) => server.pause());
      }
    }
    for (const setup of setups) {
      if (failures[setup.config.key]) continue;
      say(
        `${setup.config.label.padEnd(38)} ${setup.rates.map((rate) => `${rate}`.padStart(6)).join(' ')} tasks/s (machine busy ${setup.busy.join(', ')} %)`,
      );
    }
    return setups.filter((setup) => !failures[setup.config.key]);
  } finally {
    await Promise.all(setups.map((setup) => setup.close()));
  }
}

/** Each configuration alone: started, its rounds, stopped (see {@link measureGroup}). */
async function measureOneByOne(
  group: Configuration[],
  fail: (config: Configuration, error: unknown) => void,
): Promise<Setup[]> {
  const done: Setup[] = [];
  for (const config of group) {
    let setup: Setup | undefined;
    try {
      setup = await setUp(config);
      for (let r = 0; r < rounds; r++) {
        checkStopping();
        const { rate, busy } = await round(setup, `r${r}`);
        setup.rates.push(rate);
        setup.busy.push(busy);
      }
      say(
        `${config.label.padEnd(38)} ${setup.rates.map((rate) => `${rate}`.padStart(6)).join(' ')} tasks/s (machine busy ${setup.busy.join(', ')} %)`,
      );
      done.push(setup);
    } catch (error) {
      fail(config, error);
    } finally {
      await setup?.close();
    }
  }
  return done;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const configurations = all.filter((config) => !selected || selected.includes(config.key));
const pgProblem = configurations.some((config) => config.database === 'postgres') ? await postgresProblem() : undefined;
if (pgProblem) say(`skipping the PostgreSQL configurations: ${pgProblem}`);
say(
  `${trees} trees × ${tasks} no-op tasks a round (${trees * tasks} tasks), submitted at once over HTTP JSON-RPC; a warm-up round, then ${rounds} per configuration (SQLite ones interleaved, PostgreSQL ones one after the other)`,
);

const measured: Record<string, number[]> = {};
const busy: Record<string, number[]> = {};
const failures: Record<string, string> = {};
for (const database of ['sqlite', 'postgres'] as const) {
  const group = configurations.filter((config) => config.database === database);
  if (group.length === 0 || (database === 'postgres' && pgProblem)) continue;
  for (const setup of await measureGroup(group, failures)) {
    measured[setup.config.key] = setup.rates;
    busy[setup.config.key] = setup.busy;
  }
}

// Interrupted: the signal handler closes what is open and exits.
if (stopping) await new Promise(() => undefined);

const note = `${cores} cores, shared by the servers, their workers, PostgreSQL and this client: a CPU-bound ratio above ~${cores} is impossible here (one above it means the single process left the CPU idle, waiting on the database); other sessions' load moves every figure (machine_busy_pct)`;
const runs: Figures[] = Array.from({ length: rounds }, (_, r) =>
  Object.fromEntries(
    Object.keys(measured).flatMap((key) => [
      [`${key}_tasks_per_s`, measured[key]?.[r] as number],
      [`${key}_machine_busy_pct`, busy[key]?.[r] as number],
    ]),
  ),
);
const median: Figures = { trees, tasks_per_tree: tasks, tasks_per_round: trees * tasks, cores };
for (const [key, rates] of Object.entries(measured)) median[`${key}_tasks_per_s`] = medianOf(rates);
for (const [key, shares] of Object.entries(busy)) median[`${key}_machine_busy_pct`] = medianOf(shares);
for (const [figure, top, bottom] of ratios) {
  const [a, b] = [measured[top], measured[bottom]];
  if (a && b) median[figure] = Math.round((medianOf(a) / medianOf(b)) * 100) / 100;
}
// The best round of each: the one other sessions' load disturbed least (see machine_busy_pct).
for (const [key, rates] of Object.entries(measured)) median[`${key}_best_tasks_per_s`] = Math.max(...rates);
for (const [figure, top, bottom] of ratios) {
  const [a, b] = [measured[top], measured[bottom]];
  if (a && b) median[`${figure}_best`] = Math.round((Math.max(...a) / Math.max(...b)) * 100) / 100;
}
for (const [key, message] of Object.entries(failures)) median[`${key}_error`] = message;
if (pgProblem) median.postgres = `skipped: ${pgProblem}`;
median.note = note;

say(`${''.padEnd(40)} median tasks/s (ratio)   best round (ratio)`);
for (const config of configurations) {
  const ratio = ratios.find(([, top]) => top === config.key)?.[0];
  const show = (rate: number | string | undefined, against: number | string | undefined) =>
    (rate === undefined
      ? failures[config.key]
        ? 'FAILED'
        : 'skipped'
      : `${rate}`.padStart(6) + (against === undefined ? '' : ` (×${against})`)
    ).padEnd(22);
  say(
    `  ${config.label.padEnd(38)} ${show(median[`${config.key}_tasks_per_s`], ratio && median[ratio])}   ${show(median[`${config.key}_best_tasks_per_s`], ratio && median[`${ratio}_best`])}`,
  );
}
say(`note: ${note}`);
process.stdout.write(`${JSON.stringify({ runs, median })}\n`);
process.exit(0);
