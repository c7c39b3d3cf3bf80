import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { App, TaskEvent } from 'apflow';
import { recordAnnounced, startBare, toBursts, type Bare } from './bare-broadcaster-control.ts';
import type { BareBurst } from './bare-broadcaster.ts';
import { started } from './started.ts';

export interface FanoutOptions {
  wsClients: number;
  sseClients: number;
  children: number;
  steps: number;
  stepMs: number;
  /** Processes the clients are spread over (they are not the server's cost, so keep them apart). */
  clientProcesses: number;
  /** Measured rounds of each system, alternating apflow, bare, apflow, bare… (default 2). */
  pairs?: number;
}

type Ready = { ready: true; open_ms: number };
type Report = { cpu_ms: number; seqs: string[]; latencies: number[] };

/** A client process with its messages queued, so none is lost between two waits. */
interface ClientProcess {
  child: ChildProcess;
  next<T>(): Promise<T>;
}

function startClients(file: string, settings: unknown, cwd: string): ClientProcess {
  const child = fork(join(cwd, 'bin', 'run-ts.js'), [file, JSON.stringify(settings)], {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: unknown[] = [];
  const waiting: { resolve(value: unknown): void; reject(error: Error): void }[] = [];
  child.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(message);
    else inbox.push(message);
  });
  child.on('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`fan-out clients exited with code ${code}`));
  });
  return {
    child,
    next: <T>() =>
      inbox.length
        ? Promise.resolve(inbox.shift() as T)
        : new Promise<T>((resolve, reject) => waiting.push({ resolve: resolve as (value: unknown) => void, reject })),
  };
}

/** One round of the plan: a system and the tree (or bare round id) its clients subscribe to. */
interface Planned {
  /** `engine`: apflow's tree run with no subscriber (what the engine alone costs). */
  system: 'apflow' | 'bare' | 'engine';
  taskId: string;
  scale: number;
}

/** A measured round's figures. */
type Figures = Record<string, number>;

/**
 * Subscribes `wsClients` WebSocket and `sseClients` SSE clients (in child processes:
 * fanout-clients.ts) to one tree before it runs, runs it, and checks every client got every
 * event of the tree (the event log's seqs); then the same clients, in the same processes,
 * subscribe to a bare `ws` + `node:http` broadcaster (bare-broadcaster.ts) that sends the same
 * frames at the pacing of apflow's round. Rounds alternate apflow, bare, apflow, bare…; the first
 * pair, with a fifth of the clients, warms both up. Figures: delivery latency (receive time −
 * event.timestamp) over all (client, event) pairs, the servers' CPU per delivery, and the ratios.
 */
export async function runFanout(app: App, options: FanoutOptions): Promise<Record<string, number | string>> {
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const root = join(import.meta.dirname, '..');
  const bare = await startBare(root);
  const pairs = options.pairs ?? Number(process.env.FANOUT_PAIRS ?? 2);
  const plan: Planned[] = [];
  for (let i = 0; i <= pairs + 1; i++) {
    const tree = await app.engine.createTree([
      { name: 'root', schemas: { method: 'bench_noop' } },
      ...Array.from({ length: options.children }, (_, c) => ({
        name: `p${c}`,
        parent_id: 'root',
        schemas: { method: 'bench_progress' },
        inputs: { steps: options.steps, ms: options.stepMs },
      })),
    ]);
    if (i > pairs) plan.push({ system: 'engine', taskId: tree.id, scale: 0 });
    const scale = i === 0 ? 0.2 : 1;
    if (i <= pairs)
      plan.push({ system: 'apflow', taskId: tree.id, scale }, { system: 'bare', taskId: `bare-${i}`, scale });
  }
  const processes = options.clientProcesses;
  const share = (total: number, i: number) => Math.floor(total / processes) + (i < total % processes ? 1 : 0);
  const children = Array.from({ length: processes }, (_, i) => {
    const rounds = plan.map((round) => ({
      url: round.system === 'bare' ? bare.url : url,
      taskId: round.taskId,
      wsClients: Math.round(share(options.wsClients, i) * round.scale),
      sseClients: Math.round(share(options.sseClients, i) * round.scale),
    }));
    return startClients(join(import.meta.dirname, 'fanout-clients.ts'), { processIndex: i, rounds }, root);
  });
  try {
    const load = loadavg()[0] as number;
    const measured: Record<Planned['system'], Figures[]> = { apflow: [], bare: [], engine: [] };
    let bursts: BareBurst[] = [];
    for (const [i, round] of plan.entries()) {
      let figures: Figures;
      if (round.system === 'bare') figures = await bareRound(bare, round.taskId, bursts, children);
      else ({ figures, bursts } = await apflowRound(app, round.taskId, children));
      if (i >= 2) measured[round.system].push(figures);
    }
    if (measured.bare.some((round) => round.missed_clients))
      throw new Error('fan-out: a client of the bare broadcaster missed events');
    return {
      ...summarize(measured, load, loadavg()[0] as number, options),
      // The same tree run with no subscriber: the engine's own CPU, in the apflow rounds' figure too.
      engine_cpu_ms: measured.engine[0]?.server_cpu_ms ?? NaN,
      burst_sizes: bursts.map((burst) => burst.events.length).join(' '),
    };
  } finally {
    for (const each of children) each.child.kill();
    bare.close();
  }
}

/** The median of each figure over rounds, the ratios of each pair, the machine's load. */
function summarize(
  measured: Record<Planned['system'], Figures[]>,
  loadBefore: number,
  loadAfter: number,
  options: FanoutOptions,
): Record<string, number | string> {
  const mid = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const half = sorted.length / 2;
    const value = sorted.length % 2 ? sorted[Math.floor(half)] : ((sorted[half - 1] ?? 0) + (sorted[half] ?? 0)) / 2;
    return Math.round((value ?? NaN) * 100) / 100;
  };
  const medians = (rounds: Figures[]) =>
    Object.fromEntries(Object.keys(rounds[0] ?? {}).map((key) => [key, mid(rounds.map((each) => each[key] ?? NaN))]));
  const apflow = medians(measured.apflow);
  const bare = medians(measured.bare);
  const ratios = (figure: string) =>
    measured.apflow.map((a, i) => (a[figure] ?? NaN) / (measured.bare[i]?.[figure] ?? NaN));
  const list = (rounds: Figures[], figure: string) => rounds.map((each) => each[figure]).join(' / ');
  return {
    ws_clients: options.wsClients,
    sse_clients: options.sseClients,
    ...apflow,
    ...Object.fromEntries(Object.entries(bare).map(([key, value]) => [`bare_${key}`, value])),
    p99_vs_bare: mid(ratios('p99_ms')),
    cpu_per_delivery_vs_bare: mid(ratios('server_cpu_us_per_delivery')),
    p99_rounds: list(measured.apflow, 'p99_ms'),
    bare_p99_rounds: list(measured.bare, 'p99_ms'),
    load_before: loadBefore,
    load_after: loadAfter,
  };
}

/** Runs the tree `rootId` once the client processes are subscribed, recording what it announced. */
async function apflowRound(app: App, rootId: string, children: ClientProcess[]) {
  await Promise.all(children.map((each) => each.next<Ready>()));
  const recorder = recordAnnounced(app, rootId);
  const profile = await startProfile();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const outcome = await started(await app.engine.execute(rootId)).done;
  const runMs = performance.now() - start;
  if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
  await streamsEnded(children);
  const cpu = process.cpuUsage(cpu0);
  await profile?.(`apflow-${rootId}`);
  recorder.stop();
  const want = (await app.tasks.events(rootId)).map((event: TaskEvent) => event.seq);
  const announced = recorder.events.map((event) => event.seq);
  if (announced.join(',') !== want.join(',')) throw new Error('fan-out: the announced events are not the log');
  // Per seq: how long its commit took after its timestamp (commit time: when its burst was announced).
  const lag = new Map(recorder.events.map((event) => [event.seq, event.committedAt - event.madeAt]));
  const figures = await collect(children, want, (cpu.user + cpu.system) / 1000, performance.now() - start, lag);
  const lags = [...lag.values()].sort((a, b) => a - b);
  return {
    figures: {
      ...figures,
      run_ms: Math.round(runMs),
      listeners_ms: Math.round(recorder.stages.reduce((sum, each) => sum + each.listeners, 0)),
      writes_ms: Math.round(recorder.stages.reduce((sum, each) => sum + each.writes, 0)),
      commit_lag_p50_ms: quantile(lags, 0.5),
      commit_lag_p99_ms: quantile(lags, 0.99),
    },
    bursts: toBursts(recorder.events),
  };
}

/** Has the bare broadcaster send apflow's `bursts` of the round before to the clients subscribed now. */
async function bareRound(bare: Bare, round: string, bursts: BareBurst[], children: ClientProcess[]) {
  await Promise.all(children.map((each) => each.next<Ready>()));
  const start = performance.now();
  await bare.play(round, bursts);
  await streamsEnded(children);
  const deliveredMs = performance.now() - start;
  const cpuMs = await bare.stop();
  const want = bursts.flatMap((burst) => burst.events.map((event) => Number(/"seq":(\d+)/.exec(event.json)?.[1])));
  return collect(children, want, cpuMs, deliveredMs);
}

/**
 * With FANOUT_PROFILE=DIR, starts a CPU profile of this process (the server); the function
 * returned stops it and writes DIR/NAME.cpuprofile.
 */
async function startProfile(): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env.FANOUT_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Waits until every client's stream ended (the final event and `stream_end` received). */
async function streamsEnded(children: ClientProcess[]): Promise<void> {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 10_000, 'timeout').unref());
  const ended = await Promise.race([Promise.all(children.map((each) => each.next<{ ended: true }>())), timeout]);
  if (ended === 'timeout') throw new Error('fan-out: some streams did not end within 10 s of the final event');
}

const quantile = (sorted: number[], q: number) =>
  Math.round((sorted[Math.floor(q * (sorted.length - 1))] ?? NaN) * 100) / 100;

/**
 * The clients' reports: every client must have got `want` in order. With `lag` (each seq's
 * commit − timestamp), also the latency from commit to receipt.
 */
async function collect(
  children: ClientProcess[],
  want: number[],
  serverCpuMs: number,
  deliveredMs: number,
  lag?: Map<number, number>,
): Promise<Figures> {
  const reported = Promise.all(children.map((each) => each.next<Report>()));
  for (const each of children) each.child.send('report');
  const reports = await reported;
  const seqs = reports.flatMap((each) => each.seqs);
  const latencies = reports.flatMap((each) => each.latencies);
  const figures: Figures = {};
  if (lag) {
    // Latencies come client by client, in the order of each client's seqs.
    const order = seqs.flatMap((each) => each.split(',').map(Number));
    const fromCommit = latencies.map((latency, i) => latency - (lag.get(order[i] as number) ?? NaN));
    fromCommit.sort((a, b) => a - b);
    figures.commit_p50_ms = quantile(fromCommit, 0.5);
    figures.commit_p99_ms = quantile(fromCommit, 0.99);
  }
  latencies.sort((a, b) => a - b);
  const wanted = want.join(',');
  return {
    clients: seqs.length,
    events: want.length,
    deliveries: latencies.length,
    missed_clients: seqs.filter((each) => each !== wanted).length,
    p50_ms: quantile(latencies, 0.5),
    p99_ms: quantile(latencies, 0.99),
    max_ms: quantile(latencies, 1),
    ...figures,
    delivered_ms: Math.round(deliveredMs),
    server_cpu_ms: Math.round(serverCpuMs),
    server_cpu_us_per_delivery: Math.round((serverCpuMs * 1000 * 100) / latencies.length) / 100,
    clients_cpu_ms: Math.round(reports.reduce((sum, each) => sum + each.cpu_ms, 0)),
  };
}
