import { ApflowError } from '../errors/apflow-error.ts';
import { CONNECT_OPTIONS, runGroup as runSubcommands, text, type Parsed, type Subcommand } from './command-group.ts';
import { withClient } from './connect.ts';
import { writeOutputFile } from './output-file.ts';
import { withOwner } from './read-input.ts';
import { startDetached, startRemote, type BackgroundStart } from './run-background.ts';
import { runForeground, treeOf, type RunPlan } from './run-flow.ts';
import { readTaskSource, rootGroups } from './run-input.ts';

const SUMMARY =
  'Run a task tree, here (the configured database) or on a server (--server): apflow run flow … or apflow run FILE.json';

/**
 * `apflow run flow [EXECUTOR_ID] --tasks/-f/--inputs …` (the original's), and `apflow run FILE`
 * (`run flow --tasks-file FILE`): creates the tree(s), runs them, prints what `tasks.execute`
 * answered as JSON; exit 1 unless every tree completed.
 */
export async function runGroup(argv: string[]): Promise<void> {
  const [first] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(`${SUMMARY}\n\n`);
    return runSubcommands('run', SUMMARY, [flowCommand(false)], ['flow', '--help']);
  }
  // `apflow run FILE [options]` and `apflow run --tasks …`: the word `flow` left out.
  if (first === 'flow') return runSubcommands('run', SUMMARY, [flowCommand(false)], argv);
  return runSubcommands('run', SUMMARY, [flowCommand(true)], ['flow', ...argv]);
}

/** `run flow`; `fileForm`: called as `apflow run FILE`, whose positional is the tasks file. */
function flowCommand(fileForm: boolean): Subcommand {
  return {
    name: 'flow',
    args: fileForm ? '[FILE]' : '[EXECUTOR_ID]',
    summary:
      'Creates the tree(s) and runs them: prints the outcome JSON (tasks.execute’s answer); exit 0 when every tree completed, else 1',
    positionals: { min: 0, max: 1 },
    options: {
      tasks: {
        type: 'string',
        short: 't',
        value: 'json',
        description: 'The tasks: a JSON array (or {"tasks": [...]})',
      },
      'tasks-file': {
        type: 'string',
        short: 'f',
        value: 'path',
        description: 'The tasks from a JSON file (- for standard input)',
      },
      inputs: {
        type: 'string',
        short: 'i',
        value: 'json',
        description: 'With EXECUTOR_ID: its inputs, a JSON object (one task "Execute EXECUTOR_ID")',
      },
      'inputs-file': { type: 'string', value: 'path', description: 'With EXECUTOR_ID: its inputs from a JSON file' },
      'task-id': {
        type: 'string',
        value: 'id',
        description: 'Run a stored tree (or the task and its dependencies) instead of creating one',
      },
      'use-demo': { type: 'boolean', description: 'Demo mode: executors answer with their demo results' },
      background: {
        type: 'boolean',
        short: 'b',
        description: 'Start the run and return (it goes on on the server, or in a process of its own)',
      },
      watch: { type: 'boolean', short: 'w', description: 'Show the live view on stderr even when not a terminal' },
      output: { type: 'string', short: 'o', value: 'file', description: 'Write the JSON to FILE instead of stdout' },
      'user-id': { type: 'string', short: 'u', value: 'id', description: 'The owner of tasks that name none' },
      ...CONNECT_OPTIONS,
    },
    run: (parsed) => runFlow(parsed, fileForm),
  };
}

async function runFlow(parsed: Parsed, fileForm: boolean): Promise<void> {
  const positional = parsed.positionals[0];
  const taskId = text(parsed, 'task-id');
  const background = parsed.values.background === true;
  if (background && parsed.values.watch === true)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: '--watch and --background cannot go together: follow a background run with apflow tasks watch ID',
    });
  const source = {
    executorId: fileForm ? undefined : positional,
    tasks: text(parsed, 'tasks'),
    tasksFile: text(parsed, 'tasks-file') ?? (fileForm ? positional : undefined),
    inputs: text(parsed, 'inputs'),
    inputsFile: text(parsed, 'inputs-file'),
  };
  if (fileForm && positional !== undefined && text(parsed, 'tasks-file') !== undefined)
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'give the tasks file once: FILE or --tasks-file' });
  const userId = text(parsed, 'user-id');
  if (taskId !== undefined && [...Object.values(source), userId].some((value) => value !== undefined))
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: '--task-id runs a stored tree: it takes no EXECUTOR_ID, --tasks, --tasks-file, --inputs or --user-id',
    });
  const plan: RunPlan = {
    groups: taskId === undefined ? rootGroups(withOwner(readTaskSource(source), userId)) : undefined,
    taskId,
    demo: parsed.values['use-demo'] === true,
    live: parsed.values.watch === true || process.stderr.isTTY === true,
  };
  const answers = background
    ? await startBackground(parsed, plan)
    : await withClient(parsed, (_client, connection) => runForeground(connection, plan));
  const output = text(parsed, 'output');
  const json = `${JSON.stringify(answers.length === 1 ? answers[0] : answers, null, 2)}\n`;
  if (!background && answers.some((answer) => answer.status !== 'completed')) process.exitCode = 1;
  if (output === undefined) return void process.stdout.write(json);
  writeOutputFile(output, json);
  process.stderr.write(`wrote ${background ? 'the started runs' : 'the outcome'} to ${output}\n`);
}

/**
 * Starts each tree and returns: on a server, the server runs it; locally, a detached `apflow run
 * flow --task-id ROOT` does (this process ends now).
 */
async function startBackground(parsed: Parsed, plan: RunPlan): Promise<BackgroundStart[]> {
  const local: { rootId: string; target: string }[] = [];
  const started = await withClient(parsed, async (client, connection) => {
    const onServer: BackgroundStart[] = [];
    for (const group of plan.groups ?? [undefined]) {
      // Read (or created) first: an unknown --task-id fails here, not in the background.
      const rootId = (await treeOf(client, plan, group)).id;
      const target = plan.taskId ?? rootId;
      if (connection.remote) onServer.push(await startRemote(client, target, plan.demo));
      else local.push({ rootId, target });
    }
    return onServer;
  });
  for (const { rootId, target } of local)
    started.push(await startDetached(rootId, target, { demo: plan.demo, config: text(parsed, 'config') }));
  return started;
}
