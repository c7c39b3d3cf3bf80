import { setTimeout as sleep } from 'node:timers/promises';
import type { ApflowClient, TaskJson, TaskTreeJson } from '../../client/index.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { TERMINAL_STATUSES } from '../tasks/task-record.ts';
import { NotFoundError } from '../../client/index.ts';
import { CONNECT_OPTIONS, decimal, text, type Subcommand } from './command-group.ts';
import { withClient } from './tasks-client.ts';

/**
 * `apflow tasks watch [ID | -t ID] [-i S] [-a]`: polls and prints each task's state when it
 * changes, one line each: until the tree of ID is done, or (`--all`) the trees running now and
 * those that start later, until Ctrl-C (a watch of "everything" has no natural end).
 */
export const watch: Subcommand = {
  name: 'watch',
  args: '[id]',
  summary: "Prints a tree's task states as they change, until it is done (--all: every running tree, until Ctrl-C)",
  options: {
    'task-id': { type: 'string', short: 't', value: 'id', description: 'A task of the tree to watch (or give ID)' },
    interval: { type: 'string', short: 'i', value: 's', description: 'Seconds between looks (default 1.0)' },
    all: { type: 'boolean', short: 'a', description: 'Every running tree, new ones too, until Ctrl-C' },
    ...CONNECT_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  async run(parsed) {
    const all = parsed.values.all === true;
    const ids = [text(parsed, 'task-id'), parsed.positionals[0]].filter((id): id is string => id !== undefined);
    if (all ? ids.length > 0 : ids.length !== 1)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: "'tasks watch' takes one task id (ID or -t ID), or --all",
      });
    const seconds = decimal(parsed, 'interval') ?? 1;
    if (seconds <= 0)
      throw new ApflowError('APF_INVALID_PARAMS', { message: `--interval must be above 0, not ${seconds}` });
    const stop = new AbortController();
    const interrupt = () => stop.abort();
    process.once('SIGINT', interrupt);
    try {
      await withClient(parsed, async (client) => {
        const look = { client, print: changePrinter(), ms: seconds * 1000, signal: stop.signal };
        const [id] = ids;
        await (id === undefined ? watchAll(look) : watchTree(look, id));
      });
    } finally {
      process.off('SIGINT', interrupt);
    }
  },
};

interface Look {
  client: ApflowClient;
  print: (tasks: TaskJson[]) => void;
  ms: number;
  signal: AbortSignal;
}

async function watchTree({ client, print, ms, signal }: Look, id: string): Promise<void> {
  const rootId = (await client.tasks.tree({ task_id: id })).id;
  do {
    // Whether it runs is asked first: a tree that ran no more then is seen whole in the read that follows.
    const [state] = await client.tasks.running.status({ task_ids: [rootId] });
    const tasks = flatten(await client.tasks.tree({ task_id: rootId }));
    print(tasks);
    if (!state?.is_running && tasks.every((task) => TERMINAL_STATUSES.has(task.status) || task.status === 'pending'))
      return;
  } while (await pause(ms, signal));
}

async function watchAll({ client, print, ms, signal }: Look): Promise<void> {
  let watched = new Set<string>();
  do {
    const running = new Set((await client.tasks.running.list({})).map((task) => task.id));
    // The trees that ended since the last look are read once more, for their last states.
    for (const rootId of new Set([...watched, ...running])) {
      const tree = await client.tasks.tree({ task_id: rootId }).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (tree) print(flatten(tree));
    }
    watched = running;
  } while (await pause(ms, signal));
}

/** Prints the tasks whose state differs from the last one printed for them. */
function changePrinter(): (tasks: TaskJson[]) => void {
  const seen = new Map<string, string>();
  return (tasks) => {
    for (const task of tasks) {
      const state = `${task.status} ${Math.round(task.progress * 100)}%${task.error ? ` ${task.error}` : ''}`;
      if (seen.get(task.id) === state) continue;
      seen.set(task.id, state);
      process.stdout.write(`${new Date().toISOString()}  ${task.name} (${task.id})  ${state}\n`);
    }
  };
}

function flatten(tree: TaskTreeJson): TaskJson[] {
  const { children, ...task } = tree;
  return [task, ...(children ?? []).flatMap(flatten)];
}

/** Waits `ms`; false when the signal ended the watch. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return sleep(ms, true, { signal }).catch(() => false);
}
