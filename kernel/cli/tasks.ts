import { ApflowError } from '../errors/apflow-error.ts';
import type { App } from '../app/create-app.ts';
import { buildTrees, toTaskJson, TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import { openForCommand } from './open-tasks.ts';
import { printJson, printTable } from './print.ts';

/** Options of `apflow tasks …`. */
export interface TasksOptions {
  config?: string;
  userId?: string;
  status?: string;
  all?: boolean;
  limit?: string | number;
  offset?: string | number;
  json?: boolean;
  message?: string;
  interval?: string | number;
}

const ACTIONS = ['list', 'get', 'tree', 'status', 'cancel', 'watch'] as const;
const isAction = (value: string): value is (typeof ACTIONS)[number] => ACTIONS.some((action) => action === value);

/**
 * `apflow tasks list|get|tree|status|cancel|watch`: operators' views of the configured
 * database, without a running server. A cancel reaches a server running the tree through the
 * database (it notices within a third of `engine.lease_s`).
 */
export async function tasksCommand(action: string, ids: string[], options: TasksOptions): Promise<void> {
  if (!isAction(action)) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `unknown action 'tasks ${action}' (use one of: ${ACTIONS.join(', ')})`,
    });
  }
  if (action === 'list') return withApp(options, (app) => list(app, options));
  const [id] = ids;
  if (id === undefined)
    throw new ApflowError('APF_INVALID_PARAMS', { message: `'tasks ${action}' needs at least one task id` });
  return withApp(options, async (app) => {
    if (action === 'get') print(toTaskJson(await found(app, id)));
    if (action === 'tree') print(buildTrees(await app.tasks.tree((await found(app, id)).root_id))[0]);
    if (action === 'status') print(await statuses(app, ids));
    if (action === 'cancel') {
      const results = await app.engine.cancel(ids, options.message ?? 'Cancelled by user');
      print(results);
      if (results.some((result) => result.status !== 'cancelled')) process.exitCode = 1;
    }
    if (action === 'watch') await watch(app, id, Number(options.interval ?? 1));
  });
}

/** Opens the configured app, runs `work` with it, and closes it. */
async function withApp(options: TasksOptions, work: (app: App) => Promise<void>): Promise<void> {
  const app = await openForCommand(options);
  try {
    await work(app);
  } finally {
    await app.close();
  }
}

async function found(app: App, id: string): Promise<TaskRow> {
  const row = await app.tasks.get(id);
  if (!row) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${id} not found` });
  return row;
}

async function list(app: App, options: TasksOptions): Promise<void> {
  const rows = await app.tasks.list({
    user_id: options.userId,
    status: options.status,
    root_only: !options.all,
    limit: Number(options.limit ?? 100),
    offset: Number(options.offset ?? 0),
  });
  if (options.json || !process.stdout.isTTY) return print(rows.map(toTaskJson));
  const table = rows.map((row) => [
    row.id,
    row.status,
    `${Math.round(row.progress * 100)}%`,
    row.user_id ?? '',
    row.name,
    row.created_at,
  ]);
  printTable(['ID', 'STATUS', 'PROGRESS', 'USER', 'NAME', 'CREATED'], table);
}

async function statuses(app: App, ids: string[]) {
  const rows = new Map((await app.tasks.getMany(ids)).map((row) => [row.id, row]));
  return ids.map((id) => {
    const row = rows.get(id);
    if (!row) return { task_id: id, status: 'not_found' };
    return {
      task_id: id,
      status: row.status,
      progress: row.progress,
      error: row.error,
      started_at: row.started_at,
      updated_at: row.updated_at,
      completed_at: row.completed_at,
    };
  });
}

/** Prints the tree's task states whenever they change, until the tree is done. */
async function watch(app: App, id: string, intervalS: number): Promise<void> {
  const rootId = (await found(app, id)).root_id;
  const seen = new Map<string, string>();
  for (;;) {
    const rows = await app.tasks.tree(rootId);
    for (const row of rows) {
      const state = `${row.status} ${Math.round(row.progress * 100)}%${row.error ? ` ${row.error}` : ''}`;
      if (seen.get(row.id) === state) continue;
      seen.set(row.id, state);
      process.stdout.write(`${new Date().toISOString()}  ${row.name} (${row.id})  ${state}\n`);
    }
    const root = rows.find((row) => row.id === rootId);
    if (
      root &&
      root.run_state !== 'running' &&
      rows.every((row) => TERMINAL_STATUSES.has(row.status) || row.status === 'pending')
    ) {
      if (TERMINAL_STATUSES.has(root.status) || !rows.some((row) => row.status === 'in_progress')) break;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0.1, intervalS) * 1000));
  }
}

const print = printJson;
