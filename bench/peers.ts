// The `peers` scenario (issues 11, 27): apflow against the job queues users would pick instead, on
// this machine, in the same run, on the same no-op work, with the same concurrency (64), each pair
// at the same durability (peers-plan.ts):
//   tree  — one parent and 9,999 children: apflow (SQLite normal / full, PostgreSQL) vs a BullMQ
//           flow on Redis at appendfsync everysec / always;
//   jobs  — 10,000 independent jobs (PEERS_JOBS): apflow on PostgreSQL (single-task trees) vs pg-boss,
//           graphile-worker; apflow on SQLite and BullMQ too, reported;
//   latency — enqueue→start, one job at a time, at rest: every system.
// Each measurement sets its system up afresh (a new database or Redis key prefix) and closes it
// after; the order changes from round to round (peers-plan.ts). Repeats its own rounds (BENCH_RUNS,
// default 3): a readable table on stderr, `{runs, median}` as the last stdout line.
//   npm run bench -- peers
//   PEERS_TASKS=2000 PEERS_JOBS=500 PEERS_SAMPLES=20 PEERS_ONLY=apflow_sqlite,bullmq PEERS_KINDS=tree npm run bench -- peers
import { loadavg } from 'node:os';
import pg from 'pg';
import { quantile, within, type Peer, type PeerSession } from './peers-common.ts';
import { kinds, roundOrder, selectSystems, type Kind } from './peers-plan.ts';
import { restoreAppendfsync } from './peers-redis.ts';
import { addRatios, printSummary, summarise, type Figures } from './peers-report.ts';
import { postgresAdminUrl } from './scale-out-servers.ts';

const rounds = Number(process.env.BENCH_RUNS ?? 3);
const tasks = Number(process.env.PEERS_TASKS ?? 10_000);
/** Independent jobs a measurement. */
const jobCount = Number(process.env.PEERS_JOBS ?? 10_000);
const samples = Number(process.env.PEERS_SAMPLES ?? 50);
/** pg-boss 10 polls (≥ 0.5 s a sample): fewer samples keep the scenario within its time. */
const pgbossSamples = Number(process.env.PEERS_PGBOSS_SAMPLES ?? 10);
const only = process.env.PEERS_ONLY?.split(',').map((each) => each.trim());
const onlyKinds = new Set(
  (process.env.PEERS_KINDS?.split(',').map((each) => each.trim()) ?? kinds).filter((each): each is Kind =>
    kinds.includes(each as Kind),
  ),
);
const say = (line: string) => process.stderr.write(`peers: ${line}\n`);

// A hard bound on the whole scenario, whatever hangs.
const deadlineS = Number(process.env.PEERS_DEADLINE_S ?? 60 + 200 * rounds);
setTimeout(() => {
  say(`not done within ${deadlineS} s: giving up`);
  process.exit(1);
}, deadlineS * 1000).unref();

const peers: Peer[] = [];
/** Why a system was skipped (`<key>_skipped`) or a measurement failed (`<key>_<kind>_error`). */
const problems: Record<string, string> = {};
for (const peer of selectSystems(only)) {
  const problem = await peer.problem();
  if (problem) {
    problems[`${peer.key}_skipped`] = problem;
    say(`skipping ${peer.label}: ${problem}`);
  } else peers.push(peer);
}
const byKey = new Map(peers.map((peer) => [peer.key, peer]));
say(
  `a tree of ${tasks} no-op tasks, ${jobCount} independent no-op jobs, concurrency 64, ${samples} latency samples (pg-boss ${pgbossSamples}); ${rounds} rounds, each measurement on a system set up for it, pairs back to back, the order changing each round`,
);

const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));

/** One figure (or two: p50 and p99) of one system, on a session of its own. */
async function measure(peer: Peer, kind: Kind, figures: Figures): Promise<void> {
  const session: PeerSession = await within(60_000, `${peer.label} set-up`, peer.setUp());
  try {
    // A warm-up of 500 first (code, connections, tables, statistics), then the measured run.
    const warmed = async (run: (n: number) => Promise<number>, n: number) => {
      await within(180_000, `${peer.label} ${kind} warm-up`, run(500));
      return within(180_000, `${peer.label} ${kind}`, run(n));
    };
    if (kind === 'tree' && session.tree)
      figures[`${peer.key}_tree_tasks_per_s`] = rate(tasks, await warmed(session.tree.bind(session), tasks - 1));
    if (kind === 'jobs' && session.jobs)
      figures[`${peer.key}_jobs_per_s`] = rate(jobCount, await warmed(session.jobs.bind(session), jobCount));
    if (kind === 'latency' && session.latency) {
      const count = peer.key === 'pgboss' ? pgbossSamples : samples;
      const delays = await within(120_000, `${peer.label} latency`, session.latency(count));
      figures[`${peer.key}_p50_ms`] = quantile(delays, 0.5);
      figures[`${peer.key}_p99_ms`] = quantile(delays, 0.99);
    }
    // Read back once the figure is taken: the promise the system kept while it was measured.
    if (session.durability)
      figures[`${peer.key}_${kind}_durability`] = await within(10_000, 'durability', session.durability());
  } finally {
    await within(30_000, `${peer.label} close`, session.close()).catch((error: unknown) =>
      say(`${peer.label}: ${(error as Error).message}`),
    );
  }
}

/** The PostgreSQL server's own settings the figures on it depend on. */
async function postgresSettings(): Promise<Figures> {
  if (![...byKey.keys()].some((key) => ['apflow_pg', 'pgboss', 'graphile'].includes(key))) return {};
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const show = async (name: string) => String(Object.values((await client.query(`SHOW ${name}`)).rows[0])[0]);
    return { postgres_fsync: await show('fsync'), postgres_synchronous_commit: await show('synchronous_commit') };
  } catch {
    return {};
  } finally {
    await client.end().catch(() => undefined);
  }
}

const runs: Figures[] = [];
const loadNow = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
for (let r = 0; r < rounds; r++) {
  const figures: Figures = { load_start: loadNow() };
  const order = roundOrder(r, new Set(byKey.keys()), onlyKinds);
  figures.order = order.map(([kind, key]) => `${kind}:${key}`).join(' ');
  for (const [kind, key] of order) {
    const peer = byKey.get(key) as Peer;
    // One broken measurement is a figure of its own, not the end of the others (nor of the round).
    if (problems[`${key}_${kind}_error`]) continue;
    const started = performance.now();
    try {
      await measure(peer, kind, figures);
    } catch (error) {
      problems[`${key}_${kind}_error`] = (error as Error).message.slice(0, 500);
      say(`${peer.label} ${kind}: FAILED: ${problems[`${key}_${kind}_error`]}`);
    }
    const taken = Object.entries(figures)
      .filter(
        ([figure]) =>
          figure.startsWith(`${key}_`) &&
          (figure.includes(`_${kind}`) || (kind === 'latency' && /_p\d\d_ms$/.test(figure))),
      )
      .map(([figure, value]) => `${figure.slice(key.length + 1)} ${value}`);
    say(
      `round ${r + 1} ${kind.padEnd(7)} ${peer.label.padEnd(38)} ${taken.join(', ')} (${Math.round((performance.now() - started) / 1000)} s)`,
    );
  }
  figures.load_end = loadNow();
  addRatios(figures);
  runs.push(figures);
  say(`round ${r + 1}: load ${figures.load_start} → ${figures.load_end}`);
}
await restoreAppendfsync().catch((error: unknown) =>
  say(`could not put Redis's appendfsync back: ${(error as Error).message}`),
);

const median = summarise(runs, {
  tree_tasks: tasks,
  jobs: jobCount,
  samples,
  pgboss_samples: pgbossSamples,
  concurrency: 64,
  ...(await postgresSettings()),
});
Object.assign(median, problems);
printSummary(say, peers, runs, median, problems);
process.stdout.write(`${JSON.stringify({ runs, median })}\n`);
process.exit(0);
