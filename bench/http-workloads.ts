import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withApp, type Figures } from './bench-app.ts';
import { runLoad, spawnBareServer, startBareServer, type LoadRequest, type LoadResult } from './http-load.ts';
import { startServer } from './scale-out-servers.ts';

/** The HTTP workloads: apflow against a bare Fastify + better-sqlite3 reference, in the same run. */
export const httpWorkloads: Record<string, () => Promise<Figures>> = {
  /**
   * tasks.create over HTTP (JSON-RPC POST /tasks, one task a request) on a real `apflow serve`
   * (SQLite, its defaults) against a bare Fastify + better-sqlite3 process that INSERTs each task posted
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
   * raw better-sqlite3 query on the same file, alternating, 16 keep-alive connections, 3 s each after a
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
};
