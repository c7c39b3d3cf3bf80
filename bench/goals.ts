/** A target a workload's median figure must meet; with neither bound, a figure reported only. */
export interface Goal {
  workload: string;
  figure: string;
  at_least?: number;
  at_most?: number;
  why: string;
}

/** The targets the issues set. */
export const goals: Goal[] = [
  { workload: 'tree-10k', figure: 'tasks_per_s', at_least: 5000, why: '10,000-task tree on SQLite' },
  { workload: 'tree-10k', figure: 'peak_rss_mb', at_most: 250, why: 'peak RSS of that process' },
  // Each step waits for a durable commit (never running ahead of one), so the chain's speed is
  // bounded by the machine's commit rate; 1,000 tasks/s was above it here (750–1,250 commits/s).
  // The floor is the same writes on apflow's own tables, made raw (`same-writes-chain.ts`).
  {
    workload: 'chain-1k',
    figure: 'ratio_to_same_writes',
    at_least: 0.5,
    why: '1,000-deep chain: at least half the speed of its own durable writes made raw',
  },
  { workload: 'start-latency', figure: 'p50_ms', at_most: 10, why: 'tasks.execute to first task start' },
  {
    workload: 'http-read',
    figure: 'get_ratio',
    at_least: 0.5,
    why: 'tasks.get req/s over a bare Fastify + better-sqlite3 route',
  },
  {
    workload: 'http-read',
    figure: 'list_ratio',
    at_least: 0.5,
    why: 'tasks.list req/s over a bare Fastify + better-sqlite3 route',
  },
  {
    workload: 'http-write',
    figure: 'create_ratio',
    at_least: 0.5,
    why: 'tasks.create req/s (apflow serve) over a bare Fastify + better-sqlite3 INSERT process',
  },
  {
    workload: 'dashboard',
    figure: 'js_gzip_kb',
    at_most: 200,
    why: "JavaScript of the dashboard's first load, gzipped",
  },
  {
    workload: 'dashboard',
    figure: 'first_load_ms',
    at_most: 1000,
    why: 'dashboard usable (trees list drawn) after navigation, localhost',
  },
  {
    workload: 'dashboard',
    figure: 'longest_task_ms',
    at_most: 100,
    why: 'longest main-thread task while a 1,000-task tree runs live',
  },
  { workload: 'executor-reload', figure: 'p50_ms', at_most: 500, why: 'changed executor file live for the next task' },
  {
    workload: 'fanout',
    figure: 'p99_ms',
    at_most: 100,
    why: 'event delivery to 1,000 WebSocket + 200 SSE subscribers',
  },
  { workload: 'fanout', figure: 'missed_clients', at_most: 0, why: 'every subscriber gets every event' },
  // Issue 27: against a bare `ws` + node:http broadcaster (no database, frames prepared once)
  // sending the same frames at the same pacing to the same clients, in the same run.
  {
    workload: 'fanout',
    figure: 'p99_vs_bare',
    at_most: 1.5,
    why: "delivery p99 over the bare broadcaster's (apflow's includes the commit; the bare one has none)",
  },
  {
    workload: 'fanout',
    figure: 'cpu_per_delivery_vs_bare',
    at_most: 2,
    why: "server CPU per delivered event over the bare broadcaster's (apflow's includes running the tree)",
  },
  // Scale-out (issue 10): no goal on this 2-core machine, where a CPU-bound ratio cannot pass ~2.
  { workload: 'scale-out', figure: 'sqlite_w2_vs_w1', why: 'tasks/s of --workers 2 over --workers 1, SQLite' },
  { workload: 'scale-out', figure: 'sqlite_w4_vs_w1', why: 'tasks/s of --workers 4 over --workers 1, SQLite' },
  { workload: 'scale-out', figure: 'pg_w2_vs_w1', why: 'tasks/s of --workers 2 over --workers 1, PostgreSQL' },
  { workload: 'scale-out', figure: 'pg_w4_vs_w1', why: 'tasks/s of --workers 4 over --workers 1, PostgreSQL' },
  { workload: 'scale-out', figure: 'pg_servers3_vs_1', why: 'tasks/s of 3 servers over 1 on one PostgreSQL database' },
  // Peers (issues 11, 27): apflow against the job queues users would pick instead, same machine,
  // same run, each pair at the same durability; every ratio is the median of the rounds' ratios,
  // each from a pair measured back to back (bench/peers-plan.ts).
  {
    workload: 'peers',
    figure: 'tree_sqlite_normal_vs_bullmq_everysec',
    at_least: 2,
    why: '1 + 9,999-task tree, tasks/s of apflow on SQLite synchronous=normal over a BullMQ flow, Redis appendfsync everysec',
  },
  {
    workload: 'peers',
    figure: 'tree_sqlite_full_vs_bullmq_always',
    at_least: 2,
    why: 'the same, apflow on SQLite synchronous=full over BullMQ with Redis appendfsync always',
  },
  {
    workload: 'peers',
    figure: 'tree_pg_vs_bullmq_always',
    at_least: 1,
    why: 'the same, apflow on PostgreSQL (fsync, synchronous_commit on) over BullMQ with appendfsync always',
  },
  {
    workload: 'peers',
    figure: 'tree_pg_vs_bare_statements',
    why: "the same tree, apflow on PostgreSQL over its own recorded statements replayed bare, no engine (the machine's reference, peers-bare-pg.ts)",
  },
  {
    workload: 'peers',
    figure: 'jobs_pg_vs_pgboss',
    at_least: 1,
    why: "10,000 independent no-op jobs/s of apflow over pg-boss 10's fetch/complete loop, one PostgreSQL",
  },
  {
    workload: 'peers',
    figure: 'jobs_pg_vs_graphile',
    at_least: 2,
    why: '10,000 independent no-op jobs/s of apflow over graphile-worker, one PostgreSQL',
  },
  {
    workload: 'peers',
    figure: 'latency_p50_pg_vs_graphile',
    at_most: 1,
    why: "enqueue→start p50 of apflow on PostgreSQL over graphile-worker's, one PostgreSQL",
  },
  {
    workload: 'peers',
    figure: 'latency_p50_sqlite_full_vs_graphile',
    at_most: 1,
    why: "enqueue→start p50 of apflow on SQLite synchronous=full over graphile-worker's",
  },
  {
    workload: 'peers',
    figure: 'apflow_sqlite_full_p50_ms',
    at_most: 5,
    why: 'enqueue (create + execute) to start, one at a time, SQLite synchronous=full',
  },
  {
    workload: 'peers',
    figure: 'apflow_pg_p50_ms',
    at_most: 5,
    why: 'enqueue (create + execute) to start, one at a time, PostgreSQL',
  },
  {
    workload: 'peers',
    figure: 'latency_p50_sqlite_normal_vs_graphile',
    why: "enqueue→start p50 of apflow on SQLite synchronous=normal over graphile-worker's",
  },
  {
    workload: 'peers',
    figure: 'jobs_pg_vs_bullmq_always',
    why: 'independent no-op jobs/s of apflow on PostgreSQL over BullMQ, appendfsync always',
  },
  {
    workload: 'peers',
    figure: 'jobs_sqlite_normal_vs_bullmq_everysec',
    why: 'independent no-op jobs/s of apflow on SQLite normal over BullMQ, appendfsync everysec',
  },
  {
    workload: 'peers',
    figure: 'jobs_sqlite_full_vs_bullmq_always',
    why: 'independent no-op jobs/s of apflow on SQLite full over BullMQ, appendfsync always',
  },
  { workload: 'peers', figure: 'apflow_sqlite_normal_p50_ms', why: 'enqueue to start p50, SQLite normal' },
  { workload: 'peers', figure: 'apflow_sqlite_full_p99_ms', why: 'enqueue to start p99, SQLite full' },
  { workload: 'peers', figure: 'apflow_pg_p99_ms', why: 'enqueue to start p99, PostgreSQL' },
  { workload: 'peers', figure: 'bullmq_everysec_p50_ms', why: 'BullMQ enqueue (Queue.add) to start p50, everysec' },
  { workload: 'peers', figure: 'bullmq_always_p50_ms', why: 'BullMQ enqueue (Queue.add) to start p50, always' },
  { workload: 'peers', figure: 'pgboss_p50_ms', why: 'pg-boss 10 enqueue (send) to start p50 (polls, 0.5 s minimum)' },
  { workload: 'peers', figure: 'graphile_p50_ms', why: 'graphile-worker enqueue (addJob) to start p50' },
  // Schedules (issue 23): 1,000 schedules on one in-process server (bench/schedules.ts).
  {
    workload: 'schedules',
    figure: 'claim_p99_ms',
    at_most: 250,
    why: '1,000 schedules firing every second: due time to the fire claimed (fired_at − fire_at), p99',
  },
  {
    workload: 'schedules',
    figure: 'idle_cpu_from_schedules_pct',
    at_most: 5,
    why: 'CPU (% of one core) 1,000 schedules not due cost a server at rest, over the same server with none',
  },
  {
    workload: 'schedules',
    figure: 'skipped',
    why: 'of the 10,000 fires measured, those skipped by overlap (the previous no-op run had not ended)',
  },
  { workload: 'schedules', figure: 'start_p99_ms', why: "due time to the fired tree's root starting, p99" },
  { workload: 'schedules', figure: 'firing_cpu_pct', why: 'CPU (% of one core) while 1,000 fires a second run' },
  // Durable timers (issue 24): 10,000 tasks each suspended on a 1 s timer (bench/durable-timers.ts).
  {
    workload: 'durable-timers',
    figure: 'resume_lateness_p99_ms',
    why: '10,000 tasks (100 trees of 100) sleeping 1 s at once: wake time to the resumed run starting, p99',
  },
  {
    workload: 'durable-timers',
    figure: 'resume_lateness_p99_vs_bare',
    why: 'that p99 over the p99 of 10,000 bare setTimeout(1000) in the same process',
  },
  {
    workload: 'durable-timers',
    figure: 'rss_per_waiting_task_bytes',
    at_most: 1024,
    why: 'RSS with 10,000 tasks waiting over RSS before their run (each after a full GC), per task',
  },
  {
    workload: 'durable-timers',
    figure: 'marginal_heap_per_waiting_task_bytes',
    why: 'live heap each waiting task adds once the caches are full: the second 5,000 over the first',
  },
  {
    workload: 'durable-timers',
    figure: 'flat_heap_per_waiting_task_bytes',
    why: 'live heap per waiting task when each is a single-task tree (a run of its own)',
  },
  {
    workload: 'durable-timers',
    figure: 'high_resume_lateness_p99_ms',
    why: 'the same lateness p99 at engine.concurrency 1,000',
  },
  // Start-up (issue 21): apflow's build installed in an app, `apflow serve` against a bare
  // Fastify + sqlite3 process started the same way in the same rounds (bench/startup.ts).
  {
    workload: 'startup',
    figure: 'time_ratio',
    at_most: 2,
    why: 'spawn to a healthy /health, no config, an existing database, over the bare process',
  },
  { workload: 'startup', figure: 'rss_ratio', at_most: 1.5, why: 'idle RSS of that server over the bare process' },
  {
    workload: 'startup',
    figure: 'project_time_ratio',
    at_most: 2,
    why: 'the same for an `apflow init` project (TypeScript config and executor) with both extensions, restarted',
  },
  {
    workload: 'startup',
    figure: 'project_first_ratio',
    why: "that project's first start: a new database, its config and executor compiled (nothing kept yet)",
  },
  {
    workload: 'startup',
    figure: 'project_rss_ratio',
    at_most: 1.5,
    why: "that project's idle RSS over the bare process",
  },
  {
    workload: 'startup',
    figure: 'first_start_ratio',
    at_most: 2,
    why: 'first start on a new database (the migrations create every table) over the bare process',
  },
  {
    workload: 'startup',
    figure: 'tree_10k_peak_rss_mb',
    at_most: 199,
    why: 'tree-10k peak RSS on the installed build',
  },
];
