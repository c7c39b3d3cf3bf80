// Several real `apflow serve` processes on one fresh PostgreSQL database, with the recording
// executor of ./executors loaded, for the scale-out tests.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { testDatabases } from '../databases.ts';
import { launchApflow, repoRoot, rpc, tempProject, waitListening, type SpawnedApflow } from '../helpers.ts';

/** The folder of the recording executor (`record_run`). */
export const executorsDir = join(repoRoot, 'test', 'scale-out', 'executors');

/** One running server. */
export interface ScaleServer {
  /** `s0`, `s1`, …: what the executor records as `server`. */
  name: string;
  /** Its base URL (http://127.0.0.1:port). */
  base: string;
  pid: number;
  proc: SpawnedApflow;
}

/** A fresh PostgreSQL database for one test, dropped when it ends. */
export async function freshPostgres(t: TestContext): Promise<string> {
  const postgres = testDatabases().find((db) => db.name === 'postgres');
  if (!postgres) throw new Error('APFLOW_TEST_POSTGRES_URL is not set');
  return postgres.create(t);
}

/**
 * Starts `count` servers on the database `databaseUrl`, each on a port of its own, with the
 * `engine` settings given (lease_s, per_user_concurrency, …) and any `extra` config. They are
 * killed when the test ends.
 */
export async function startServers(
  t: TestContext,
  databaseUrl: string,
  count: number,
  engine: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<ScaleServer[]> {
  const config = {
    ...extra,
    engine,
    executors: { dirs: [executorsDir] },
    examples: { auto_init: false },
    log: { level: 'info', format: 'json' },
  };
  const cwd = tempProject(t, { 'apflow.config.json': JSON.stringify(config) });
  const started = Array.from({ length: count }, (_, i) => {
    const name = `s${i}`;
    const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', '0'], {
      cwd,
      env: { APFLOW_DATABASE_URL: databaseUrl, SCALE_RUNS_DATABASE_URL: databaseUrl, SCALE_SERVER: name },
    });
    return { name, proc };
  });
  return Promise.all(
    started.map(async ({ name, proc }) => ({
      name,
      proc,
      pid: proc.child.pid as number,
      base: await waitListening(proc, 60_000),
    })),
  );
}

/** Calls a `tasks.*` method on `base`; returns its result or throws the JSON-RPC error. */
export async function call<T = unknown>(base: string, method: string, params: unknown): Promise<T> {
  const { status, body } = await rpc(base, '/tasks', { jsonrpc: '2.0', id: 1, method, params });
  if (status !== 200 || !body || body.error)
    throw new Error(`${method} on ${base}: HTTP ${status} ${JSON.stringify(body?.error ?? body)}`);
  return body.result as T;
}

/** A task as `tasks.tree` answers it (nested). */
export interface TreeTask {
  id: string;
  status: string;
  error?: string | null;
  user_id?: string | null;
  children?: TreeTask[];
}

/** The tasks of a nested tree, flattened. */
export function flatten(task: TreeTask): TreeTask[] {
  return [task, ...(task.children ?? []).flatMap(flatten)];
}

/** Terminal task states. */
export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
