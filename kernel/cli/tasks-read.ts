import { ApflowError } from '../errors/apflow-error.ts';
import { TASK_STATUSES, type TaskStatus } from '../tasks/task-record.ts';
import { CONNECT_OPTIONS, integer, text, type Parsed, type Subcommand } from './command-group.ts';
import { printJson, wantsJson } from './print.ts';
import { firstId, withClient } from './tasks-client.ts';
import { printCountTable, printTaskTable } from './tasks-table.ts';

const JSON_OPTION = { json: { type: 'boolean', description: 'Print JSON even on a terminal' } } as const;
const USER_OPTION = {
  'user-id': { type: 'string', short: 'u', value: 'id', description: "Only this user's tasks" },
} as const;
const ONE = { min: 1, max: 1 };

const list: Subcommand = {
  name: 'list',
  summary: 'Tasks, newest first (roots only unless --all-tasks): tasks.list',
  options: {
    ...USER_OPTION,
    status: { type: 'string', short: 's', value: 'status', description: 'Only tasks in this state' },
    'root-only': { type: 'boolean', description: 'Only roots of trees (the default)' },
    'all-tasks': { type: 'boolean', description: 'Every task, not only roots' },
    all: { type: 'boolean', description: 'The same as --all-tasks' },
    limit: { type: 'string', short: 'l', value: 'n', description: 'At most n tasks (default 100)' },
    offset: { type: 'string', short: 'o', value: 'n', description: 'Skip the first n (default 0)' },
    ...JSON_OPTION,
    ...CONNECT_OPTIONS,
  },
  async run(parsed) {
    const every = parsed.values['all-tasks'] === true || parsed.values.all === true;
    if (every && parsed.values['root-only'] === true)
      throw new ApflowError('APF_INVALID_PARAMS', { message: 'give --root-only or --all-tasks, not both' });
    const tasks = await withClient(parsed, (client) =>
      client.tasks.list({
        ...userId(parsed),
        ...statusFilter(parsed),
        root_only: !every,
        limit: integer(parsed, 'limit') ?? 100,
        offset: integer(parsed, 'offset') ?? 0,
      }),
    );
    if (wantsJson({ json: parsed.values.json === true })) return printJson(tasks);
    printTaskTable(tasks);
  },
};

const get: Subcommand = {
  name: 'get',
  args: '<id>',
  summary: 'One task (a root also carries its tree’s tasks per status): tasks.get',
  options: { ...CONNECT_OPTIONS },
  positionals: ONE,
  async run(parsed) {
    const id = firstId(parsed);
    const task = await withClient(parsed, (client) => client.tasks.get({ task_id: id }));
    if (task === null) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${id} not found` });
    printJson(task);
  },
};

const tree: Subcommand = {
  name: 'tree',
  args: '<id>',
  summary: 'The whole tree a task belongs to, nested from its root: tasks.tree',
  options: { ...CONNECT_OPTIONS },
  positionals: ONE,
  async run(parsed) {
    printJson(await withClient(parsed, (client) => client.tasks.tree({ task_id: firstId(parsed) })));
  },
};

const children: Subcommand = {
  name: 'children',
  args: '[id]',
  summary: 'The direct children of a task, by priority: tasks.children',
  options: {
    'parent-id': { type: 'string', short: 'p', value: 'id', description: 'The parent task' },
    'task-id': { type: 'string', short: 't', value: 'id', description: 'The same as --parent-id' },
    ...CONNECT_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  async run(parsed) {
    const given = [text(parsed, 'parent-id'), text(parsed, 'task-id'), parsed.positionals[0]].filter(
      (id): id is string => id !== undefined,
    );
    const [id] = given;
    if (id === undefined || given.length > 1)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: "'tasks children' takes one parent task: --parent-id ID, --task-id ID or ID",
      });
    printJson(await withClient(parsed, (client) => client.tasks.children({ parent_id: id })));
  },
};

const status: Subcommand = {
  name: 'status',
  args: '<ids...>',
  summary: 'The state of each task (not_found for an unknown one): tasks.running.status',
  options: { ...CONNECT_OPTIONS },
  positionals: { min: 1, max: 1000 },
  async run(parsed) {
    printJson(await withClient(parsed, (client) => client.tasks.running.status({ task_ids: parsed.positionals })));
  },
};

const count: Subcommand = {
  name: 'count',
  summary: 'How many tasks there are, by status: tasks.count',
  options: {
    ...USER_OPTION,
    'root-only': { type: 'boolean', short: 'r', description: 'Count trees (their roots) only' },
    format: {
      type: 'string',
      short: 'f',
      value: 'table|json',
      description: 'table (the default on a terminal) or json (the default otherwise)',
    },
    ...JSON_OPTION,
    ...CONNECT_OPTIONS,
  },
  async run(parsed) {
    const format = text(parsed, 'format');
    if (format !== undefined && format !== 'table' && format !== 'json')
      throw new ApflowError('APF_INVALID_PARAMS', { message: `--format must be table or json, not '${format}'` });
    if (format === 'table' && parsed.values.json === true)
      throw new ApflowError('APF_INVALID_PARAMS', { message: 'give --format table or --json, not both' });
    const counts = await withClient(parsed, (client) =>
      client.tasks.count({ ...userId(parsed), ...(parsed.values['root-only'] === true ? { root_only: true } : {}) }),
    );
    const asJson = format === 'json' || (format === undefined && wantsJson({ json: parsed.values.json === true }));
    if (asJson) return printJson(counts);
    printCountTable(counts);
  },
};

/** `status` of a list call, when `--status` was given: one of the task states. */
function statusFilter(parsed: Parsed): { status?: TaskStatus } {
  const asked = text(parsed, 'status');
  if (asked === undefined) return {};
  const status = TASK_STATUSES.find((one) => one === asked);
  if (status === undefined)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `--status must be one of ${TASK_STATUSES.join(', ')}, not '${asked}'`,
    });
  return { status };
}

/** `user_id` of a call, when `--user-id` was given. */
function userId(parsed: Parsed): { user_id?: string } {
  const id = text(parsed, 'user-id');
  return id === undefined ? {} : { user_id: id };
}

/** The actions that read tasks. */
export const readCommands: Subcommand[] = [list, get, tree, children, status, count];
