import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from 'apflow';
import { runFanout } from './fanout.ts';
import { runLoad, spawnBareServer, startBareServer, type LoadRequest, type LoadResult } from './http-load.ts';
import { startServer } from './scale-out-servers.ts';

/** One measured workload: its figures, by name. */
export type Figures = Record<string, number | string>;

const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const fixtures = join(import.meta.dirname, 'fixtures');
/** The apps' log level (`BENCH_LOG_LEVEL=info` to measure with the server's default). */
const logLevel = (process.env.BENCH_LOG_LEVEL ?? 'warn') as 'warn';

async function withApp<T>(
  work: (app: App, file: string) => Promise<T>,
  engine: Record<string, unknown> = JSON.parse(process.env.BENCH_ENGINE ?? '{}'),
  extra: Record<string, unknown> = {},
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-'));
  const file = join(dir, 'bench.sqlite');
  const app = await createApp({
    env: {},
    logStream: quiet(),
    inline: {
      database: { url: `sqlite:${file}` },
      executors: { dirs: [fixtures] },
      log: { level: logLevel },
      engine,
      ...extra,
    },
  });
  try {
    return await work(app, file);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** The workloads `npm run bench` runs, each in a fresh process. */
export const workloads: Record<string, () => Promise<Figures>> = {
  /** One root and 9,999 no-op leaves on SQLite, from execute to the final event. */
  async 'tree-10k'() {
    return withApp(async (app) => {
      const tasks = [{ id: 'root', name: 'root', schemas: { method: 'bench_noop' } }];
      for (let i = 1; i < 10_000; i++)
        tasks.push({
          id: `t${i}`,
          name: `t${i}`,
          parent_id: 'root',
          schemas: { method: 'bench_noop' },
        } as (typeof tasks)[number]);
      const created = performance.now();
      await app.engine.createTree(tasks);
      const start = performance.now();
      const { done } = await app.engine.execute('root');
      const outcome = await done;
      const ms = performance.now() - start;
      if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
      return {
        tasks: 10_000,
        create_ms: Math.round(start - created),
        run_ms: Math.round(ms),
        tasks_per_s: Math.round(10_000 / (ms / 1000)),
        peak_rss_mb: peakRssMb(),
      };
    });
  },
  /** A 1,000-deep tree (each task the only child of the previous), run bottom-up. */
  async 'chain-1k'() {
    return withApp(async (app) => {
      const tasks = Array.from({ length: 1000 }, (_, i) => ({
        id: `c${i}`,
        name: `c${i}`,
        parent_id: i === 0 ? null : `c${i - 1}`,
        schemas: { method: 'bench_noop' },
      }));
      await app.engine.createTree(tasks);
      const start = performance.now();
      const { done } = await app.engine.execute('c0');
      const outcome = await done;
      const ms = performance.now() - start;
      if (outcome.status !== 'completed') throw new Error(`chain ended ${outcome.status}`);
      return {
        tasks: 1000,
        run_ms: Math.round(ms),
        tasks_per_s: Math.round(1000 / (ms / 1000)),
        peak_rss_mb: peakRssMb(),
      };
    });
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
        const { done } = await app.engine.execute(tree.id);
        await done;
        if (i >= 5) delays.push((store.benchStarts[0] as number) - start);
      }
      delays.sort((a, b) => a - b);
      const at = (q: number) => Math.round((delays[Math.floor(q * (delays.length - 1))] as number) * 100) / 100;
      return { runs: delays.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1) };
    });
  },
  /**
   * tasks.create over HTTP (JSON-RPC POST /tasks, one task a request) on a real `apflow serve`
   * (SQLite, its defaults) against a bare Fastify + sqlite3 process that INSERTs each task posted
   * into the same table: both servers in processes of their own, one after the other on the same
   * file, 16 keep-alive connections, 3 s each after a 0.5 s warm-up. Every response is checked.
   */
  async 'http-write'() {
    const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-write-'));
    const file = join(dir, 'bench.sqlite');
    const task = (n: number) => ({
      name: `task ${n}`,
      inputs: { n, text: 'some input' },
      schemas: { method: 'bench_noop' },
    });
    const named = (value: unknown, n: number) =>
      (value as { name?: unknown; id?: unknown } | null)?.name === `task ${n}` &&
      typeof (value as { id?: unknown }).id === 'string';
    const load = (base: string, next: (n: number) => LoadRequest) =>
      runLoad({ base, next, concurrency: 16, warmupMs: 500, durationMs: 3000 });
    const measured: Record<string, LoadResult> = {};
    try {
      const server = await startServer({ databaseUrl: `sqlite:${file}`, workers: 1 });
      try {
        measured.apflow_create = await load(server.url, (n) => ({
          method: 'POST',
          path: '/tasks',
          body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tasks.create', params: [task(n)] }),
          check: (body) => named((JSON.parse(body) as { result?: unknown }).result, n),
        }));
      } finally {
        await server.stop();
      }
      const bare = await spawnBareServer(file);
      try {
        measured.bare_create = await load(bare.url, (n) => ({
          method: 'POST',
          path: '/task',
          body: JSON.stringify(task(n)),
          check: (body) => named(JSON.parse(body), n),
        }));
      } finally {
        await bare.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const failed = Object.entries(measured).filter(([, result]) => result.errors > 0);
    if (failed.length)
      throw new Error(
        failed.map(([name, result]) => `${name}: ${result.errors} errors, first: ${result.firstError}`).join('; '),
      );
    const figures: Figures = {};
    for (const [name, result] of Object.entries(measured))
      Object.assign(figures, {
        [`${name}_rps`]: result.rps,
        [`${name}_p50_ms`]: result.p50_ms,
        [`${name}_p99_ms`]: result.p99_ms,
      });
    const ratio =
      Math.round(((measured.apflow_create as LoadResult).rps / (measured.bare_create as LoadResult).rps) * 100) / 100;
    return { create_ratio: ratio, ...figures, concurrency: 16, seconds: 3 };
  },
  /**
   * tasks.get and tasks.list over HTTP (JSON-RPC POST /tasks) against a bare Fastify route with a
   * raw sqlite3 query on the same file, alternating, 16 keep-alive connections, 3 s each after a
   * 0.5 s warm-up. Every response is checked; any error fails the workload.
   */
  async 'http-read'() {
    return withApp(async (app, file) => {
      const trees = 200;
      const users = ['alice', 'bob'];
      for (let t = 0; t < trees; t++) {
        const tasks = Array.from({ length: 5 }, (_, i) => ({
          id: `h${t}-${i}`,
          name: `task ${t}.${i}`,
          parent_id: i === 0 ? null : `h${t}-0`,
          inputs: { n: t, text: 'some input' },
          schemas: { method: 'bench_noop' },
        }));
        await app.engine.createTree(tasks, { userId: users[t % users.length] });
      }
      const idOf = (n: number) => `h${(n * 7919) % trees}-${n % 5}`;
      const userOf = (n: number) => users[n % users.length] as string;
      const rpc = (n: number, method: string, params: Record<string, unknown>) =>
        JSON.stringify({ jsonrpc: '2.0', id: n, method, params });
      const result = (body: string) => (JSON.parse(body) as { result?: unknown }).result;
      const isTask = (value: unknown, id: string) => (value as { id?: unknown } | null | undefined)?.id === id;
      const isPage = (value: unknown, user: string) =>
        Array.isArray(value) &&
        value.length === trees / users.length &&
        value.every(
          (row: { user_id?: unknown; parent_id?: unknown }) => row.user_id === user && row.parent_id === null,
        );

      const { url: apflowUrl } = await app.listen({ host: '127.0.0.1', port: 0 });
      const bare = await startBareServer(file);
      const targets: Record<string, { base: string; next: (n: number) => LoadRequest }> = {
        apflow_get: {
          base: apflowUrl,
          next: (n) => ({
            method: 'POST',
            path: '/tasks',
            body: rpc(n, 'tasks.get', { task_id: idOf(n) }),
            check: (body) => isTask(result(body), idOf(n)),
          }),
        },
        bare_get: {
          base: bare.url,
          next: (n) => ({
            method: 'GET',
            path: `/task/${idOf(n)}`,
            check: (body) => isTask(JSON.parse(body), idOf(n)),
          }),
        },
        apflow_list: {
          base: apflowUrl,
          next: (n) => ({
            method: 'POST',
            path: '/tasks',
            body: rpc(n, 'tasks.list', { user_id: userOf(n) }),
            check: (body) => isPage(result(body), userOf(n)),
          }),
        },
        bare_list: {
          base: bare.url,
          next: (n) => ({
            method: 'GET',
            path: `/roots/${userOf(n)}`,
            check: (body) => isPage(JSON.parse(body), userOf(n)),
          }),
        },
      };
      const measured: Record<string, LoadResult> = {};
      try {
        for (const [name, target] of Object.entries(targets)) {
          measured[name] = await runLoad({ ...target, concurrency: 16, warmupMs: 500, durationMs: 3000 });
        }
      } finally {
        await bare.close();
      }
      const failed = Object.entries(measured).filter(([, load]) => load.errors > 0);
      if (failed.length)
        throw new Error(
          failed.map(([name, load]) => `${name}: ${load.errors} errors, first: ${load.firstError}`).join('; '),
        );
      const figures: Figures = {};
      for (const [name, load] of Object.entries(measured))
        Object.assign(figures, {
          [`${name}_rps`]: load.rps,
          [`${name}_p50_ms`]: load.p50_ms,
          [`${name}_p99_ms`]: load.p99_ms,
        });
      const ratio = (a: string, b: string) =>
        Math.round(((measured[a] as LoadResult).rps / (measured[b] as LoadResult).rps) * 100) / 100;
      return {
        get_ratio: ratio('apflow_get', 'bare_get'),
        list_ratio: ratio('apflow_list', 'bare_list'),
        ...figures,
        concurrency: 16,
        seconds: 3,
      };
    });
  },
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
