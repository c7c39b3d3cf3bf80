// The services the bench's scenarios measure on — a PostgreSQL server and a Redis server of the
// bench's own, with their durable settings (PostgreSQL fsync on; Redis append-only, synced every
// second; `peers` switches `appendfsync` at run time, measurement by measurement, and puts it
// back) — started before the scenarios and stopped at the end, by the same scripts the tests
// use (which install the Debian packages when missing), on ports and folders of their own, so the
// tests' servers are never touched. BENCH_POSTGRES_URL / BENCH_REDIS_URL point the bench at
// servers of yours instead (nothing is started then).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

interface Service {
  name: string;
  script: string;
  /** The URL variable the bench reads, and the one the script prints. */
  benchVar: 'BENCH_POSTGRES_URL' | 'BENCH_REDIS_URL';
  printedVar: string;
  env: Record<string, string>;
}

const services: Record<'postgres' | 'redis', Service> = {
  postgres: {
    name: 'PostgreSQL',
    script: 'postgres.sh',
    benchVar: 'BENCH_POSTGRES_URL',
    printedVar: 'APFLOW_TEST_POSTGRES_URL',
    env: {
      APFLOW_TEST_POSTGRES_PORT: '55433',
      APFLOW_TEST_POSTGRES_DIR: '/tmp/apflow-bench-postgres',
      APFLOW_TEST_POSTGRES_FSYNC: 'on',
    },
  },
  redis: {
    name: 'Redis',
    script: 'redis.sh',
    benchVar: 'BENCH_REDIS_URL',
    printedVar: 'APFLOW_TEST_REDIS_URL',
    env: {
      APFLOW_TEST_REDIS_PORT: '56380',
      APFLOW_TEST_REDIS_DIR: '/tmp/apflow-bench-redis',
      APFLOW_TEST_REDIS_APPENDONLY: 'yes',
    },
  },
};

const run = (service: Service, command: 'start' | 'stop') =>
  execFileSync('bash', [join(root, 'scripts', service.script), command], {
    encoding: 'utf8',
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });

/**
 * Starts the services named (unless their BENCH_*_URL is set), exports their URLs to this process
 * and the scenarios it spawns, and returns how to stop what it started (also done on exit). A
 * service that cannot start is reported; the systems that need it are then skipped.
 */
export function startServices(needed: readonly ('postgres' | 'redis')[], say: (line: string) => void): () => void {
  const started: Service[] = [];
  const stop = () => {
    for (const service of started.splice(0)) {
      try {
        run(service, 'stop');
      } catch (error) {
        say(`could not stop the bench's ${service.name}: ${(error as Error).message}`);
      }
    }
  };
  process.once('exit', stop);
  for (const key of needed) {
    const service = services[key];
    if (process.env[service.benchVar]) continue;
    try {
      const out = run(service, 'start');
      const url = new RegExp(`${service.printedVar}=(\\S+)`).exec(out)?.[1];
      if (!url) throw new Error(`its script printed no URL: ${out.slice(0, 200)}`);
      process.env[service.benchVar] = url;
      started.push(service);
      say(`started the bench's own ${service.name} at ${url}`);
    } catch (error) {
      say(
        `could not start ${service.name} (the systems on it will be skipped): ${(error as Error).message.slice(0, 500)}`,
      );
    }
  }
  return stop;
}

/** Versions of what the bench measures: apflow, its peers, the servers (when reachable). */
export async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ['apflow', 'bullmq', 'pg-boss', 'graphile-worker', 'fastify', 'better-sqlite3', 'pg', 'ioredis']) {
    const file = name === 'apflow' ? join(root, 'package.json') : join(root, 'node_modules', name, 'package.json');
    try {
      out[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      // not installed: not measured
    }
  }
  try {
    out['redis-server'] =
      /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    // not installed
  }
  const pgUrl = process.env.BENCH_POSTGRES_URL;
  if (pgUrl) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      out.postgresql = rows[0]?.server_version ?? 'unknown';
    } catch {
      // not reachable
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return out;
}
