// HTTP helpers of the `http-read` workload: a keep-alive load loop and the bare Fastify +
// better-sqlite3 baseline it is compared with.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import Database from 'better-sqlite3';

/** One request of a load run, and how to tell its response is right. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** True when the (status 200) response body is the expected answer. */
  check: (body: string) => boolean;
}

/** What a load run measured: rate and latency after the warm-up; errors over the whole run. */
export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** The first error seen, if any. */
  firstError?: string;
}

/**
 * Sends requests to `base` (an http://127.0.0.1:port URL) from `concurrency` loops over
 * keep-alive connections for `warmupMs` then `durationMs`; only the latter is measured. The
 * `n`-th request is `next(n)`. Every response is checked (status 200 and `check`).
 */
export async function runLoad(options: {
  base: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  next: (n: number) => LoadRequest;
}): Promise<LoadResult> {
  const url = new URL(options.base);
  if (url.hostname !== '127.0.0.1') throw new Error(`load only goes to 127.0.0.1, not ${url.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let counter = 0;
  const measureFrom = performance.now() + options.warmupMs;
  const end = measureFrom + options.durationMs;

  const send = (call: LoadRequest) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          agent,
          method: call.method,
          path: call.path,
          headers:
            call.body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(call.body) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (chunk: Buffer) => parts.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(call.body);
    });

  const loop = async () => {
    for (;;) {
      const started = performance.now();
      if (started >= end) return;
      const call = options.next(counter++);
      let problem: string | undefined;
      try {
        const { status, body } = await send(call);
        if (status !== 200) problem = `status ${status}: ${body.slice(0, 200)}`;
        else if (!call.check(body))
          problem = `unexpected body for ${call.method} ${call.path} ${call.body ?? ''}: ${body.slice(0, 200)}`;
      } catch (error) {
        problem = (error as Error).message;
      }
      const finished = performance.now();
      if (problem) {
        errors++;
        firstError ??= problem;
      }
      // Only requests wholly inside the measured window count towards rate and latency.
      if (started >= measureFrom && finished <= end) latencies.push(finished - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? NaN) * 100) / 100;
  return {
    requests: latencies.length,
    errors,
    rps: Math.round(latencies.length / (options.durationMs / 1000)),
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    firstError,
  };
}

/**
 * The baseline: a bare Fastify app (no logger, no hooks) with one raw better-sqlite3 connection to
 * `file`, serving `GET /task/:id` (`SELECT * … WHERE id = ?` as JSON) and `GET /roots/:user` (the
 * same listing query as tasks.list: a user's roots, newest first, 100 of them, as a JSON array).
 */
export async function startBareServer(file: string): Promise<{ url: string; close: () => Promise<void> }> {
  // The driver apflow uses, and the same copy of SQLite: two copies in one process on one file
  // would not see each other's locks.
  const db = new Database(file, { fileMustExist: true });
  const all = (sql: string, params: unknown[]) => db.prepare(sql).all(params);
  const fastify = Fastify({ logger: false });
  fastify.get<{ Params: { id: string } }>('/task/:id', async (req, reply) => {
    const rows = await all('SELECT * FROM apflow_tasks WHERE id = ?', [req.params.id]);
    return rows[0] ?? reply.status(404).send({ error: 'not found' });
  });
  fastify.get<{ Params: { user: string } }>('/roots/:user', async (req) =>
    all(
      'SELECT * FROM apflow_tasks WHERE user_id = ? AND parent_id IS NULL ORDER BY created_at DESC, position LIMIT 100',
      [req.params.user],
    ),
  );
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  const { port } = fastify.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await fastify.close();
      db.close();
    },
  };
}

/** Starts bench/bare-server.ts on `file` in a process of its own; resolves once it listens. */
export async function spawnBareServer(file: string): Promise<{ url: string; close: () => Promise<void> }> {
  const root = join(import.meta.dirname, '..');
  const child = spawn(process.execPath, [join(root, 'bin', 'run-ts.js'), join(root, 'bench', 'bare-server.ts'), file], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.once('close', (code) => reject(new Error(`the bare server exited (${code}) before listening`)));
  });
  return {
    url,
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
