// Servers and databases of the `scale-out` scenario: real `apflow serve` processes on a port of
// their own, and a fresh PostgreSQL database per configuration.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const root = join(import.meta.dirname, '..');

/** A running `apflow serve`: the leader of its own process group (its primary and workers). */
export interface BenchServer {
  url: string;
  /** SIGSTOP to the group: it takes no CPU while another configuration is measured. */
  pause(): void;
  /** SIGCONT to the group. */
  resume(): void;
  /** Resumes it, SIGTERM to the primary (which stops its workers), SIGKILL to the group after 15 s. */
  stop(): Promise<void>;
}

/**
 * The process groups of the servers still running, killed should this process exit first (they
 * are in groups of their own, so a Ctrl-C does not reach them).
 */
const live = new Map<number, string>();
process.once('exit', () => {
  for (const [pid, dir] of live) {
    if (signalGroup(pid, 'SIGCONT')) signalGroup(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** A port nobody listens on right now (a cluster needs a fixed one: port 0 is not shared). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `apflow serve --workers N` on 127.0.0.1 with the bench's executors (bench/fixtures) and
 * `databaseUrl`, in a temp folder of its own, and waits until it logs that it listens (for a
 * cluster: the primary's line, once every worker listens).
 */
export async function startServer(options: {
  databaseUrl: string;
  workers: number;
  timeoutMs?: number;
}): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-serve-'));
  const port = await freePort();
  const config = {
    server: { host: '127.0.0.1', port, shutdown_timeout_s: 3 },
    database: { url: options.databaseUrl },
    executors: { dirs: [join(root, 'bench', 'fixtures')] },
    // info: the 'apflow listening' line; per-request lines stay at debug (log.requests).
    log: { level: 'info', format: 'json' },
    examples: { auto_init: false },
  };
  writeFileSync(join(dir, 'apflow.config.json'), JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'apflow.js'),
      'serve',
      '--workers',
      String(options.workers),
      '--config',
      join(dir, 'apflow.config.json'),
    ],
    {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const pid = child.pid as number;
  live.set(pid, dir);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-20_000));
  child.stderr?.on('data', keep);
  const listening = new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() as string;
      for (const line of lines) {
        const entry = parseLine(line);
        if (entry?.msg === 'apflow listening' && (options.workers === 1 || entry.workers === options.workers))
          resolve(`http://127.0.0.1:${port}`);
      }
    });
    child.once('close', (code, signal) =>
      reject(
        new Error(
          `apflow serve --workers ${options.workers} exited (${code ?? signal}) before listening:\n${tail.slice(-2000)}`,
        ),
      ),
    );
    setTimeout(
      () =>
        reject(
          new Error(
            `apflow serve --workers ${options.workers} did not listen within ${options.timeoutMs ?? 60_000} ms:\n${tail.slice(-2000)}`,
          ),
        ),
      options.timeoutMs ?? 60_000,
    ).unref();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(pid, 'SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return {
      url: await listening,
      pause: () => void signalGroup(pid, 'SIGSTOP'),
      resume: () => void signalGroup(pid, 'SIGCONT'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function parseLine(line: string): { msg?: unknown; workers?: unknown } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as { msg?: unknown; workers?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * The admin URL of the PostgreSQL server to bench on: BENCH_POSTGRES_URL, else
 * APFLOW_TEST_POSTGRES_URL, else the one `bash scripts/postgres.sh start` runs.
 */
export const postgresAdminUrl =
  process.env.BENCH_POSTGRES_URL ??
  process.env.APFLOW_TEST_POSTGRES_URL ??
  'postgresql://postgres@127.0.0.1:55432/postgres';

/** Why PostgreSQL cannot be used (not reachable…), or undefined when it can. */
export async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL not reachable at ${redact(postgresAdminUrl)} (${(error as Error).message}); start it with \`bash scripts/postgres.sh start\``;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh, empty PostgreSQL database; `drop()` removes it (connections and all). */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `apflow_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: postgresAdminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}
