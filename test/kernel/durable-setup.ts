/**
 * Shared setup of the durable-run tests (issue 24): a temp project with the durable fixture
 * executors in its executors/ folder, real `apflow serve` processes on one database, JSON-RPC
 * calls over HTTP, and the side effects the executors append to the project's `effects.log`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { eventually, launchApflow, repoRoot, rpc, tempProject, waitListening, type SpawnedApflow } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'durable-executors');

/** A project folder with the durable executors and the path of its side-effect log. */
export interface DurableProject {
  dir: string;
  /** The file the executors append `<task id> <effect>` lines to (pass it as the `log` input). */
  log: string;
}

/** A temp project with every durable fixture executor copied into its executors/ folder. */
export function durableProject(t: TestContext, engine: Record<string, unknown> = {}): DurableProject {
  const files: Record<string, string> = {
    'apflow.config.json': JSON.stringify({
      engine,
      examples: { auto_init: false },
      log: { level: 'info', format: 'json' },
    }),
  };
  for (const name of readdirSync(fixtures)) files[`executors/${name}`] = readFileSync(join(fixtures, name), 'utf8');
  const dir = tempProject(t, files);
  return { dir, log: join(dir, 'effects.log') };
}

/** A running `apflow serve` and its base URL. */
export interface DurableServer {
  base: string;
  proc: SpawnedApflow;
}

/** Starts `apflow serve` in `project` on the database `databaseUrl` (killed when the test ends). */
export async function startServer(
  t: TestContext,
  project: DurableProject,
  databaseUrl: string,
): Promise<DurableServer> {
  const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', '0'], {
    cwd: project.dir,
    env: { APFLOW_DATABASE_URL: databaseUrl },
  });
  return { base: await waitListening(proc), proc };
}

/** Kills the server at once (kill -9), as a crash would, and waits until it is gone. */
export async function crash(server: DurableServer): Promise<void> {
  try {
    process.kill(-(server.proc.child.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
  await server.proc.exited;
}

/** A JSON-RPC error as the server answered it. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** Calls a `tasks.*` method; resolves with its result or its JSON-RPC error (never both). */
export async function attempt<T = unknown>(
  base: string,
  method: string,
  params: unknown,
): Promise<{ result?: T; error?: RpcError }> {
  const { status, body } = await rpc(base, '/tasks', { jsonrpc: '2.0', id: 1, method, params });
  if (body?.error) return { error: body.error as RpcError };
  if (status !== 200 || !body) throw new Error(`${method} on ${base}: HTTP ${status} ${JSON.stringify(body)}`);
  return { result: body.result as T };
}

/** Calls a `tasks.*` method; returns its result or throws its JSON-RPC error. */
export async function call<T = unknown>(base: string, method: string, params: unknown): Promise<T> {
  const answer = await attempt<T>(base, method, params);
  if (answer.error) throw new Error(`${method} on ${base}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

/** A task as the API shows it (the keys these tests read). */
export interface ApiTask {
  id: string;
  name: string;
  parent_id: string | null;
  status: string;
  result: unknown;
  error: string | null;
  completed_at: string | null;
  waiting?: { kind: string; key: string; until?: string; task_ids?: string[]; prompt?: string };
  children?: ApiTask[];
}

/** Creates the tree `tasks` (tasks.create); returns the root's id. */
export async function createTree(base: string, tasks: unknown[]): Promise<string> {
  return (await call<ApiTask>(base, 'tasks.create', { tasks })).id;
}

/**
 * Starts tasks.execute of `rootId` without waiting for it: the call answers only when the tree
 * ends, and a test may kill the server before then (the call then fails, which is expected).
 */
export function executeInBackground(base: string, rootId: string): Promise<unknown> {
  return attempt(base, 'tasks.execute', { task_id: rootId }).catch((error: unknown) => ({ lost: String(error) }));
}

/** One task (tasks.get). */
export async function getTask(base: string, id: string): Promise<ApiTask> {
  return call<ApiTask>(base, 'tasks.get', { task_id: id });
}

/** Every task of the tree of `rootId`, flattened (tasks.tree). */
export async function treeTasks(base: string, rootId: string): Promise<ApiTask[]> {
  const flatten = (task: ApiTask): ApiTask[] => [task, ...(task.children ?? []).flatMap(flatten)];
  return flatten(await call<ApiTask>(base, 'tasks.tree', { task_id: rootId }));
}

/** Waits until the task `id` satisfies `ready` (read over HTTP); returns it. */
export function waitForTask(base: string, id: string, ready: (task: ApiTask) => boolean, timeoutMs = 60_000) {
  return eventually(async () => {
    const task = await getTask(base, id);
    return ready(task) ? task : undefined;
  }, timeoutMs);
}

/** Terminal task states. */
export const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** The side-effect lines logged so far, as `{task, what}`. */
export function effects(project: DurableProject): { task: string; what: string }[] {
  if (!existsSync(project.log)) return [];
  return readFileSync(project.log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [task = '', what = ''] = line.split(' ');
      return { task, what };
    });
}

/** How many times `what` was logged (for the task `task`, when given). */
export function countOf(project: DurableProject, what: string, task?: string): number {
  return effects(project).filter((line) => line.what === what && (task === undefined || line.task === task)).length;
}
