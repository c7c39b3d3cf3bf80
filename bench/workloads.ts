import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from 'apflow';
import { peakRssMb, quiet, withApp, type Figures } from './bench-app.ts';
import { durableChainMs } from './durable-chain.ts';
import { measureDurableTimers } from './durable-timers.ts';
import { sameWritesChainMs } from './same-writes-chain.ts';
import { runFanout } from './fanout.ts';
import { httpWorkloads } from './http-workloads.ts';
import { measureSchedules } from './schedules.ts';
import { started } from './started.ts';
import { runTree10k, tracedTree } from './traced-tree.ts';

export type { Figures } from './bench-app.ts';

/** The workloads `npm run bench` runs, each in a fresh process. */
export const workloads: Record<string, () => Promise<Figures>> = {
  /** One root and 9,999 no-op leaves on SQLite, from execute to the final event. */
  'tree-10k': () => withApp(async (app) => ({ ...(await runTree10k(app)), peak_rss_mb: peakRssMb() })),
  /** `tree-10k` with the telemetry plugin on, exporting every span to a local OTLP receiver. */
  'tree-10k-traced': tracedTree,
  /**
   * A 1,000-deep tree (each task the only child of the previous), run bottom-up. Each step starts
   * only once the previous one's completion is committed, so the figure is compared with the
   * machine's floor for that, measured in the same process right after (`durable-chain.ts`).
   */
  async 'chain-1k'() {
    const chain = (prefix: string) =>
      Array.from({ length: 1000 }, (_, i) => ({
        id: `${prefix}${i}`,
        name: `${prefix}${i}`,
        parent_id: i === 0 ? null : `${prefix}${i - 1}`,
        schemas: { method: 'bench_noop' },
      }));
    let sameWritesMs = 0;
    const ms = await withApp(
      async (app) => {
        await app.engine.createTree(chain('c'));
        // The same-writes floor's chain, stored by apflow beside the measured one.
        await app.engine.createTree(chain('f'));
        const start = performance.now();
        const { done } = started(await app.engine.execute('c0'));
        const outcome = await done;
        if (outcome.status !== 'completed') throw new Error(`chain ended ${outcome.status}`);
        return performance.now() - start;
      },
      undefined,
      undefined,
      async (file) => {
        sameWritesMs = await sameWritesChainMs(
          file,
          chain('f')
            .map((task) => task.id)
            .reverse(),
        );
      },
    );
    const floorMs = await durableChainMs(1000);
    return {
      tasks: 1000,
      run_ms: Math.round(ms),
      tasks_per_s: Math.round(1000 / (ms / 1000)),
      bare_commits_per_s: Math.round(1000 / (floorMs / 1000)),
      ratio_to_bare: Math.round((floorMs / ms) * 100) / 100,
      same_writes_per_s: Math.round(1000 / (sameWritesMs / 1000)),
      ratio_to_same_writes: Math.round((sameWritesMs / ms) * 100) / 100,
      peak_rss_mb: peakRssMb(),
    };
  },
  /** From engine.execute() to the first executor starting, on a two-task tree, 50 times. */
  async 'start-latency'() {
    return withApp(async (app) => {
      const store = globalThis as unknown as { benchStarts?: number[] };
      const delays: number[] = [];
      for (let i = 0; i < 55; i++) {
        const tree = await app.engine.createTree([
          { name: 'root', schemas: { method: 'bench_noop' } },
          { name: 'first', parent_id: 'root', schemas: { method: 'bench_mark' } },
        ]);
        store.benchStarts = [];
        const start = performance.now();
        const { done } = started(await app.engine.execute(tree.id));
        await done;
        if (i >= 5) delays.push((store.benchStarts[0] as number) - start);
      }
      delays.sort((a, b) => a - b);
      const at = (q: number) => Math.round((delays[Math.floor(q * (delays.length - 1))] as number) * 100) / 100;
      return { runs: delays.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1) };
    });
  },
  ...httpWorkloads,
  /**
   * Event fan-out: 1,000 WebSocket and 200 SSE clients on 127.0.0.1, all subscribed to one tree
   * (root + 20 children reporting progress 5 times, 60 ms apart) before it runs. Every client must
   * get every event of the tree (the event log's seqs) or the workload fails. Figures: delivery
   * latency (receive time − event.timestamp) over all (client, event) pairs, and peak RSS.
   */
  async fanout() {
    return withApp(async (app) => {
      const figures = await runFanout(app, {
        wsClients: Number(process.env.FANOUT_WS ?? 1000),
        sseClients: Number(process.env.FANOUT_SSE ?? 200),
        children: 20,
        steps: 5,
        stepMs: 60,
        clientProcesses: Number(process.env.FANOUT_PROCS ?? 2),
      });
      if (figures.missed_clients)
        throw new Error(`${figures.missed_clients} of ${figures.clients} clients missed events`);
      return { ...figures, peak_rss_mb: peakRssMb() };
    });
  },
  /**
   * The dashboard in headless Chromium: first load until the trees list is drawn, the gzipped
   * JavaScript it loaded, a 1,000-task tree drawn and followed live to its end, and the longest
   * main-thread task meanwhile (bench/dashboard.ts).
   */
  async dashboard() {
    // Loaded here only: playwright-core would weigh on every other workload's peak RSS.
    const { measureDashboard } = await import('./dashboard.ts');
    return withApp(async (app) => {
      const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
      return measureDashboard(app, url);
    });
  },
  /**
   * 1,000 schedules on one server: the CPU they cost at rest (not due) against none, then firing
   * every second: claim and start lateness, each schedule checked to fire once per due time.
   */
  async schedules() {
    return withApp((app) => measureSchedules(app));
  },
  /**
   * 10,000 tasks suspended on 1 s durable timers and resumed (issue 24): resume lateness against
   * bare `setTimeout`s, at the default and a higher concurrency, and what waiting tasks hold.
   */
  'durable-timers': measureDurableTimers,
  /** From writing an executor file to the new version being the one tasks get, 10 edits. */
  async 'executor-reload'() {
    const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-reload-'));
    const file = join(dir, 'versioned.ts');
    const write = (n: number) =>
      writeFileSync(file, `export default { id: 'versioned', description: 'v${n}', execute: () => ${n} };\n`);
    write(0);
    const app = await createApp({
      env: {},
      logStream: quiet(),
      inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [dir] }, log: { level: 'warn' } },
    });
    const delays: number[] = [];
    try {
      for (let n = 1; n <= 10; n++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const start = performance.now();
        write(n);
        while (app.executor('versioned')?.definition.description !== `v${n}`)
          await new Promise((resolve) => setTimeout(resolve, 2));
        delays.push(performance.now() - start);
      }
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
    delays.sort((a, b) => a - b);
    return { edits: delays.length, p50_ms: Math.round(delays[5] as number), max_ms: Math.round(delays[9] as number) };
  },
};
