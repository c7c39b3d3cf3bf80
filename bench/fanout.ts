import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { App, TaskEvent } from 'apflow';
import { started } from './started.ts';

export interface FanoutOptions {
  wsClients: number;
  sseClients: number;
  children: number;
  steps: number;
  stepMs: number;
  /** Processes the clients are spread over (they are not the server's cost, so keep them apart). */
  clientProcesses: number;
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

/**
 * Subscribes `wsClients` WebSocket and `sseClients` SSE clients (in a child process:
 * fanout-clients.ts) to one tree before it runs, runs it, and checks every client got every
 * event of the tree (the event log's seqs). Figures: the delivery latency (receive time −
 * event.timestamp) over all (client, event) pairs.
 */
export async function runFanout(app: App, options: FanoutOptions): Promise<Record<string, number>> {
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const makeTree = () =>
    app.engine.createTree([
      { name: 'root', schemas: { method: 'bench_noop' } },
      ...Array.from({ length: options.children }, (_, i) => ({
        name: `p${i}`,
        parent_id: 'root',
        schemas: { method: 'bench_progress' },
        inputs: { steps: options.steps, ms: options.stepMs },
      })),
    ]);
  // A smaller first round warms both sides' code up; only the second round is measured.
  const trees = [await makeTree(), await makeTree()];
  const scale = [0.2, 1];
  const processes = options.clientProcesses;
  const share = (total: number, i: number) => Math.floor(total / processes) + (i < total % processes ? 1 : 0);
  const root = join(import.meta.dirname, '..');
  const children = Array.from({ length: processes }, (_, i) => {
    const rounds = trees.map((tree, r) => ({
      taskId: tree.id,
      wsClients: Math.round(share(options.wsClients, i) * (scale[r] as number)),
      sseClients: Math.round(share(options.sseClients, i) * (scale[r] as number)),
    }));
    return startClients(join(import.meta.dirname, 'fanout-clients.ts'), { url, rounds }, root);
  });
  try {
    let measured: Record<string, number> = {};
    for (const tree of trees) measured = await runRound(app, tree.id, children);
    return {
      clients: measured.clients as number,
      ws_clients: options.wsClients,
      sse_clients: options.sseClients,
      ...measured,
    };
  } finally {
    for (const each of children) each.child.kill();
  }
}

/** Runs the tree `rootId` once the client processes are subscribed, and checks what they got. */
async function runRound(app: App, rootId: string, children: ClientProcess[]): Promise<Record<string, number>> {
  const ready = await Promise.all(children.map((each) => each.next<Ready>()));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const outcome = await started(await app.engine.execute(rootId)).done;
  const runMs = performance.now() - start;
  if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 10_000, 'timeout').unref());
  const ended = await Promise.race([Promise.all(children.map((each) => each.next<{ ended: true }>())), timeout]);
  if (ended === 'timeout') throw new Error('fan-out: some streams did not end within 10 s of the final event');
  const deliveredMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const reported = Promise.all(children.map((each) => each.next<Report>()));
  for (const each of children) each.child.send('report');
  const reports = await reported;

  const seqs = reports.flatMap((each) => each.seqs);
  const want = (await app.tasks.events(rootId)).map((event: TaskEvent) => event.seq).join(',');
  const latencies = reports.flatMap((each) => each.latencies).sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? NaN) * 100) / 100;
  return {
    clients: seqs.length,
    events: want.split(',').length,
    deliveries: latencies.length,
    missed_clients: seqs.filter((each) => each !== want).length,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: at(1),
    open_ms: Math.max(...ready.map((each) => each.open_ms)),
    run_ms: Math.round(runMs),
    delivered_ms: Math.round(deliveredMs),
    server_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    clients_cpu_ms: Math.round(reports.reduce((sum, each) => sum + each.cpu_ms, 0)),
  };
}
