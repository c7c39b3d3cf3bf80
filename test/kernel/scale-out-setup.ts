/** Shared setup of the scale-out tests: the skip when PostgreSQL is missing, trees of the recording executor, and running them. */
import { postgresAdminUrl } from '../databases.ts';
import { call, flatten, type ScaleServer, type TreeTask } from '../scale-out/servers.ts';

if (!postgresAdminUrl && process.env.CI)
  throw new Error('CI must set APFLOW_TEST_POSTGRES_URL so the scale-out tests run');
/** Why the scale-out suites are skipped (no PostgreSQL), or false. */
export const skip = postgresAdminUrl
  ? false
  : 'APFLOW_TEST_POSTGRES_URL is not set: scale-out needs PostgreSQL (bash scripts/postgres.sh start, then export the URL it prints)';

/** A task of the recording executor. */
interface TaskSpec {
  id: string;
  name: string;
  parent_id?: string;
  user_id?: string;
  dependencies?: string[];
  schemas: { method: 'record_run' };
  inputs: { ms: number; jitter: number };
  params?: Record<string, unknown>;
}

/**
 * A tree of `size` tasks: a root and its children; child k depends on child k - `depStride`
 * when `depStride` is given (chains, so the tree runs in waves).
 */
export function treeSpec(
  root: string,
  size: number,
  options: {
    ms: number;
    jitter: number;
    user?: string;
    params?: Record<string, unknown>;
    depends?: (k: number) => number[];
  },
): TaskSpec[] {
  const base = {
    schemas: { method: 'record_run' as const },
    inputs: { ms: options.ms, jitter: options.jitter },
    ...(options.user ? { user_id: options.user } : {}),
    ...(options.params ? { params: options.params } : {}),
  };
  const tasks: TaskSpec[] = [{ id: root, name: root, ...base }];
  for (let k = 0; k < size - 1; k++) {
    const deps = options.depends?.(k) ?? [];
    tasks.push({
      id: `${root}-c${k}`,
      name: `${root}-c${k}`,
      parent_id: root,
      ...base,
      ...(deps.length ? { dependencies: deps.map((d) => `${root}-c${d}`) } : {}),
    });
  }
  return tasks;
}

/** A created tree, and the server that created and runs it. */
interface Tree {
  root: string;
  ids: string[];
  server: ScaleServer;
}

/** Creates `tasks` on `server` (tasks.create over HTTP). */
export async function createTree(server: ScaleServer, tasks: TaskSpec[]): Promise<Tree> {
  const created = await call<TreeTask>(server.base, 'tasks.create', { tasks });
  return { root: created.id, ids: flatten(created).map((task) => task.id), server };
}

/** Starts `tasks.execute` of each tree on its own server; the promises settle when the runs end. */
export function executeAll(trees: Tree[]) {
  return trees.map((tree) => call<{ status: string }>(tree.server.base, 'tasks.execute', { task_id: tree.root }));
}

/** The statuses of a tree's tasks, read on `server`. */
export async function statuses(server: ScaleServer, root: string): Promise<TreeTask[]> {
  return flatten(await call<TreeTask>(server.base, 'tasks.tree', { task_id: root }));
}

/** The first `max` problems, and how many there are. */
export const summary = (lines: string[], max = 15) =>
  `${lines.length} problem(s):\n${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… and ${lines.length - max} more` : ''}`;
