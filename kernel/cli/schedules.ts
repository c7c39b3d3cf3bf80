import type { App } from '../app/create-app.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { openForCommand } from './open-tasks.ts';
import { printJson } from './print.ts';
import { createParams, parseInputs, wholeNumber, type SchedulesOptions } from './schedules-input.ts';
import { printScheduleTable, type ScheduleView } from './schedules-table.ts';

/** What `schedules.trigger` answers. */
interface FireAnswer {
  schedule_id: string;
  fire_at: string;
  kind: string;
  state: 'started' | 'skipped' | 'failed';
  root_task_id: string | null;
  error?: string | null;
}

/**
 * The part of the schedules plugin's service these commands use: `schedules.<method>` called as
 * the operator (every schedule). The answers are the plugin's JSON-RPC answers (docs/schedules.md).
 */
interface SchedulesService {
  call(method: 'list', params: Record<string, unknown>): Promise<ScheduleView[]>;
  call(method: 'trigger', params: { id: string; inputs?: Record<string, unknown> }): Promise<FireAnswer>;
  call(method: string, params: unknown): Promise<unknown>;
}

const ACTIONS = ['list', 'add', 'get', 'runs', 'rm', 'pause', 'resume', 'trigger'] as const;
type Action = (typeof ACTIONS)[number];
const isAction = (value: string): value is Action => ACTIONS.some((action) => action === value);
/** The actions that take a schedule id, and the method each calls. */
const BY_ID = { get: 'get', rm: 'delete', pause: 'pause', resume: 'resume' } as const;

const print = printJson;

/**
 * `apflow schedules list|add|get|runs|rm|pause|resume|trigger`: the schedules plugin's methods on
 * the configured database, without a running server. The command never fires schedules by their
 * time (servers do); `trigger` fires one now and, by default, runs that tree here to its end.
 */
export async function schedulesCommand(action: string, id: string | number | undefined, options: SchedulesOptions) {
  if (!isAction(action))
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `unknown action 'schedules ${action}' (use one of: ${ACTIONS.join(', ')})`,
    });
  if (action === 'list') {
    const params = listParams(options);
    return withSchedules(options, async (schedules) => {
      const rows = await schedules.call('list', params);
      if (options.table || (!options.json && process.stdout.isTTY)) printScheduleTable(rows);
      else print(rows);
    });
  }
  if (action === 'add') {
    const params = createParams(options);
    return withSchedules(options, async (schedules) => {
      const created = await schedules.call('create', params);
      print(created);
      if (created && typeof created === 'object' && 'webhook_secret' in created)
        process.stderr.write(
          'apflow: webhook_secret is shown only this once: keep it now to sign the webhook requests\n',
        );
    });
  }
  if (id === undefined)
    throw new ApflowError('APF_INVALID_PARAMS', { message: `'schedules ${action}' needs a schedule id` });
  const scheduleId = String(id);
  if (action === 'runs') {
    const limit = wholeNumber(options.limit, '--limit');
    return withSchedules(options, async (schedules) =>
      print(await schedules.call('runs', { id: scheduleId, ...(limit ? { limit } : {}) })),
    );
  }
  if (action === 'trigger') {
    const inputs = parseInputs(options.inputs);
    return withSchedules(options, (schedules, app) =>
      trigger(app, schedules, { id: scheduleId, ...(inputs ? { inputs } : {}) }, options.wait !== false),
    );
  }
  const method = BY_ID[action];
  return withSchedules(options, async (schedules) => print(await schedules.call(method, { id: scheduleId })));
}

function listParams(options: SchedulesOptions): Record<string, unknown> {
  if (options.enabled && options.paused)
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'give --enabled or --paused, not both' });
  if (options.json && options.table)
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'give --json or --table, not both' });
  const limit = wholeNumber(options.limit, '--limit');
  const offset = wholeNumber(options.offset, '--offset', 0);
  return {
    ...(options.userId !== undefined ? { user_id: String(options.userId) } : {}),
    ...(options.enabled ? { enabled: true } : options.paused ? { enabled: false } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(offset !== undefined ? { offset } : {}),
  };
}

/** Opens the configured app, runs `work` with the schedules service, and closes the app. */
async function withSchedules(
  options: { config?: string },
  work: (schedules: SchedulesService, app: App) => Promise<void>,
): Promise<void> {
  const app = await openForCommand(options);
  try {
    // The kernel does not import plugins: the service's shape is declared above.
    const schedules = (app.service as (name: string) => SchedulesService | undefined)('schedules');
    if (!schedules)
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'the schedules plugin is disabled (disabled_plugins), so there are no schedules',
      });
    await work(schedules, app);
  } finally {
    await app.close();
  }
}

/**
 * Fires the schedule now. This command's engine runs the fired tree (a one-shot engine runs the
 * runs it begins), so by default it waits for the tree's end and prints it; exit code 1 unless the
 * root completed. Without waiting, closing hands the tree to the servers on the database.
 */
async function trigger(
  app: App,
  schedules: SchedulesService,
  params: { id: string; inputs?: Record<string, unknown> },
  wait: boolean,
): Promise<void> {
  const fire = await schedules.call('trigger', params);
  const rootId = fire.root_task_id;
  if (fire.state === 'failed') process.exitCode = 1;
  if (!wait || fire.state !== 'started' || !rootId) return print(fire);
  const interrupt = () => void app.engine.cancel([rootId], 'Cancelled from the command line');
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const root = await ended(app, rootId);
    print({
      ...fire,
      status: root.status,
      ...(root.result !== null ? { result: root.result } : {}),
      ...(root.error ? { error: root.error } : {}),
    });
    if (root.status !== 'completed') process.exitCode = 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

/** The root task once its tree's run has ended (its `final` event), wherever it ran. */
async function ended(app: App, rootId: string): Promise<TaskRow> {
  await new Promise<void>((resolve, reject) => {
    const following = app.engine.follow(rootId, 0, (event) => {
      if (event.type !== 'final') return;
      following.stop();
      resolve();
    });
    following.replayed.catch(reject);
  });
  const root = await app.tasks.get(rootId);
  if (!root) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${rootId} not found` });
  return root;
}
