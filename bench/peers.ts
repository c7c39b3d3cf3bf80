// The `peers` scenario (issue 11): apflow against the job queues users would pick instead, on this
// machine, in the same run, on the same no-op work, with the same concurrency (64):
//   tree  — one parent and 9,999 children: apflow (SQLite, PostgreSQL) vs a BullMQ flow;
//   jobs  — 10,000 independent jobs (PEERS_JOBS): apflow on PostgreSQL (single-task trees) vs pg-boss,
//           graphile-worker (and BullMQ); apflow on SQLite too, for what the default gives;
//   latency — enqueue→start, one job at a time, at rest: every system.
// Each round sets every system up afresh (a new database or Redis key prefix), the order rotating
// from round to round so that each sees about the same background load. Repeats its own rounds
// (BENCH_RUNS, default 3): a readable table on stderr, `{runs, median}` as the last stdout line.
//   npm run bench -- peers
//   PEERS_TASKS=2000 PEERS_JOBS=500 PEERS_SAMPLES=20 PEERS_ONLY=apflow_sqlite,bullmq npm run bench -- peers
import { apflowPeer } from './peers-apflow.ts';
import { bullmqPeer } from './peers-bullmq.ts';
import { quantile, within, type Peer, type PeerSession } from './peers-common.ts';
import { graphilePeer } from './peers-graphile.ts';
import { pgbossPeer } from './peers-pgboss.ts';

type Figures = Record<string, number | string>;
type Kind = 'tree' | 'jobs' | 'latency';

const rounds = Number(process.env.BENCH_RUNS ?? 3);
const tasks = Number(process.env.PEERS_TASKS ?? 10_000);
/** Independent jobs a measurement. */
const jobCount = Number(process.env.PEERS_JOBS ?? 10_000);
const samples = Number(process.env.PEERS_SAMPLES ?? 50);
/** pg-boss 10 polls (≥ 0.5 s a sample): fewer samples keep the scenario within its time. */
const pgbossSamples = Number(process.env.PEERS_PGBOSS_SAMPLES ?? 10);
const only = process.env.PEERS_ONLY?.split(',').map((each) => each.trim());
const say = (line: string) => process.stderr.write(`peers: ${line}\n`);

const all: Peer[] = [apflowPeer('sqlite'), apflowPeer('postgres'), bullmqPeer, pgbossPeer, graphilePeer];
/** Ratios reported: [figure, kind, numerator, denominator] (tasks/s over tasks/s). */
const ratios: [string, Kind, string, string][] = [
  ['tree_sqlite_vs_bullmq', 'tree', 'apflow_sqlite', 'bullmq'],
  ['tree_pg_vs_bullmq', 'tree', 'apflow_pg', 'bullmq'],
  ['jobs_pg_vs_graphile', 'jobs', 'apflow_pg', 'graphile'],
  ['jobs_pg_vs_pgboss', 'jobs', 'apflow_pg', 'pgboss'],
  ['jobs_pg_vs_bullmq', 'jobs', 'apflow_pg', 'bullmq'],
  ['jobs_sqlite_vs_graphile', 'jobs', 'apflow_sqlite', 'graphile'],
];

// A hard bound on the whole scenario, whatever hangs.
const deadlineS = Number(process.env.PEERS_DEADLINE_S ?? 600);
setTimeout(() => {
  say(`not done within ${deadlineS} s: giving up`);
  process.exit(1);
}, deadlineS * 1000).unref();

const peers: Peer[] = [];
const skipped: Record<string, string> = {};
for (const peer of all.filter((each) => !only || only.includes(each.key))) {
  const problem = await peer.problem();
  if (problem) {
    skipped[peer.key] = problem;
    say(`skipping ${peer.label}: ${problem}`);
  } else peers.push(peer);
}
say(
  `a tree of ${tasks} no-op tasks, ${jobCount} independent no-op jobs, concurrency 64, ${samples} latency samples (pg-boss ${pgbossSamples}); ${rounds} rounds, each system set up afresh each round, the order rotating`,
);

/** Per peer key, per figure: one value a round. */
const measured: Record<string, Record<string, number[]>> = {};
const failures: Record<string, string> = {};
const record = (key: string, figure: string, value: number) => ((measured[key] ??= {})[figure] ??= []).push(value);

async function measure(peer: Peer, session: PeerSession): Promise<void> {
  const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));
  // A warm-up of 500 first (code, connections, tables, statistics), then the measured run.
  const warmed = async (what: string, run: (n: number) => Promise<number>, n: number) => {
    await within(180_000, `${peer.label} ${what} warm-up`, run(500));
    return within(180_000, `${peer.label} ${what}`, run(n));
  };
  if (session.tree)
    record(peer.key, 'tree_tasks_per_s', rate(tasks, await warmed('tree', session.tree.bind(session), tasks - 1)));
  if (session.jobs)
    record(peer.key, 'jobs_per_s', rate(jobCount, await warmed('jobs', session.jobs.bind(session), jobCount)));
  if (session.latency) {
    const delays = await within(
      120_000,
      `${peer.label} latency`,
      session.latency(peer.key === 'pgboss' ? pgbossSamples : samples),
    );
    record(peer.key, 'p50_ms', quantile(delays, 0.5));
    record(peer.key, 'p99_ms', quantile(delays, 0.99));
  }
}

for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < peers.length; i++) {
    const peer = peers[(i + r) % peers.length] as Peer;
    if (failures[peer.key]) continue;
    const started = performance.now();
    let session: PeerSession | undefined;
    try {
      session = await within(60_000, `${peer.label} set-up`, peer.setUp());
      await measure(peer, session);
    } catch (error) {
      // One broken system is a figure of its own, not the end of the others.
      failures[peer.key] = (error as Error).message.slice(0, 500);
      say(`${peer.label}: FAILED: ${failures[peer.key]}`);
    } finally {
      if (session)
        await within(30_000, `${peer.label} close`, session.close()).catch((error: unknown) =>
          say(`${peer.label}: ${(error as Error).message}`),
        );
    }
    const figures = Object.entries(measured[peer.key] ?? {}).map(([figure, values]) => `${figure} ${values.at(-1)}`);
    say(
      `round ${r + 1}: ${peer.label.padEnd(34)} ${figures.join(', ')} (${Math.round((performance.now() - started) / 1000)} s)`,
    );
  }
}

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const runs: Figures[] = Array.from({ length: rounds }, (_, r) =>
  Object.fromEntries(
    Object.entries(measured).flatMap(([key, figures]) =>
      Object.entries(figures).flatMap(([figure, values]) =>
        values[r] === undefined ? [] : [[`${key}_${figure}`, values[r]]],
      ),
    ),
  ),
);
const median: Figures = { tree_tasks: tasks, jobs: jobCount, samples, pgboss_samples: pgbossSamples, concurrency: 64 };
for (const [key, figures] of Object.entries(measured))
  for (const [figure, values] of Object.entries(figures)) median[`${key}_${figure}`] = medianOf(values);
for (const [figure, kind, top, bottom] of ratios) {
  const field = kind === 'tree' ? 'tree_tasks_per_s' : 'jobs_per_s';
  const [a, b] = [median[`${top}_${field}`], median[`${bottom}_${field}`]];
  if (typeof a === 'number' && typeof b === 'number') median[figure] = Math.round((a / b) * 100) / 100;
}
for (const [key, message] of Object.entries(failures)) median[`${key}_error`] = message;
for (const [key, message] of Object.entries(skipped)) median[`${key}_skipped`] = message;

const cell = (value: number | string | undefined, width: number) => `${value ?? '—'}`.padStart(width);
say(`median of ${rounds} rounds:`);
say(
  `  ${'system'.padEnd(34)} ${'tree tasks/s'.padStart(12)} ${'jobs/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
);
for (const peer of all.filter((each) => !only || only.includes(each.key))) {
  const status = skipped[peer.key] ? '  skipped' : failures[peer.key] ? '  FAILED' : '';
  const get = (figure: string) => median[`${peer.key}_${figure}`];
  say(
    `  ${peer.label.padEnd(34)} ${cell(get('tree_tasks_per_s'), 12)} ${cell(get('jobs_per_s'), 8)} ${cell(get('p50_ms'), 8)} ${cell(get('p99_ms'), 8)}${status}`,
  );
}
for (const [figure] of ratios) if (median[figure] !== undefined) say(`  ${figure.padEnd(26)} ×${median[figure]}`);
process.stdout.write(`${JSON.stringify({ runs, median })}\n`);
process.exit(0);
