import { createInterface } from 'node:readline/promises';
import type { TaskChanges } from '../../client/index.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import {
  CONNECT_OPTIONS,
  decimal,
  integer,
  json,
  list,
  text,
  type OptionSpec,
  type Subcommand,
} from './command-group.ts';
import { writeOutputFile } from './output-file.ts';
import { printJson } from './print.ts';
import { create } from './tasks-create.ts';
import { firstId, withClient } from './tasks-client.ts';

const ONE = { min: 1, max: 1 };
const field = (description: string, value = 'json'): OptionSpec => ({ type: 'string', value, description });

const update: Subcommand = {
  name: 'update',
  args: '<id>',
  summary: "Changes a task's fields (not its parent or owner); prints the task: tasks.update",
  options: {
    name: field('Its name', 'text'),
    status: field('Its state (pending, in_progress, completed, failed, cancelled)', 'status'),
    progress: field('Its progress, from 0 to 1', 'n'),
    error: field('Its error message', 'text'),
    result: field('Its result (JSON)'),
    priority: field('Its priority, a whole number (lower runs first)', 'n'),
    inputs: field('Its inputs, replaced (a JSON object)'),
    params: field('Its params (a JSON object)'),
    schemas: field('Its schemas (a JSON object: {"method": EXECUTOR})'),
    ...CONNECT_OPTIONS,
  },
  positionals: ONE,
  async run(parsed) {
    const changes: TaskChanges = {};
    for (const key of ['name', 'status', 'error'] as const) {
      const value = text(parsed, key);
      if (value !== undefined) Object.assign(changes, { [key]: value });
    }
    const progress = decimal(parsed, 'progress');
    if (progress !== undefined) changes.progress = progress;
    const priority = integer(parsed, 'priority');
    if (priority !== undefined) changes.priority = priority;
    for (const key of ['result', 'inputs', 'params', 'schemas'] as const) {
      if (text(parsed, key) !== undefined) Object.assign(changes, { [key]: json(parsed, key) });
    }
    if (Object.keys(changes).length === 0)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message:
          'nothing to update: give at least one of --name, --status, --progress, --error, --result, --priority, --inputs, --params, --schemas',
      });
    const task_id = firstId(parsed);
    printJson(await withClient(parsed, (client) => client.tasks.update({ task_id, ...changes })));
  },
};

const remove: Subcommand = {
  name: 'delete',
  args: '<id>',
  summary: 'Deletes a pending task and its pending subtasks when nothing depends on them: tasks.delete',
  options: {
    force: { type: 'boolean', description: 'Do not ask first (nothing is asked when stdin is not a terminal)' },
    ...CONNECT_OPTIONS,
  },
  positionals: ONE,
  async run(parsed) {
    const id = firstId(parsed);
    if (parsed.values.force !== true && process.stdin.isTTY && !(await confirm(id))) {
      process.stderr.write(`Task ${id} not deleted\n`);
      process.exitCode = 1;
      return;
    }
    printJson(await withClient(parsed, (client) => client.tasks.delete({ task_id: id })));
  },
};

async function confirm(id: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Delete task ${id} and its subtasks? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

const copy: Subcommand = {
  name: 'copy',
  args: '<id>',
  summary: 'Copies a task tree (to run it again); prints the copy: tasks.copy',
  options: {
    children: { type: 'boolean', description: "Also copy each direct child's subtree (minimal mode)" },
    'copy-mode': { type: 'string', value: 'mode', description: 'minimal (the default), full or custom' },
    'custom-task-ids': { type: 'string', value: 'a,b', description: 'custom mode: the tasks to copy' },
    'custom-include-children': { type: 'boolean', description: 'custom mode: with their subtrees' },
    'reset-fields': { type: 'string', value: 'a,b', description: 'The fields to reset on the copies' },
    'dry-run': { type: 'boolean', description: 'Save nothing: print the tasks array it would create' },
    output: { type: 'string', short: 'o', value: 'file', description: 'Write the JSON to this file, not stdout' },
    ...CONNECT_OPTIONS,
  },
  positionals: ONE,
  async run(parsed) {
    const ids = list(parsed, 'custom-task-ids');
    const reset = list(parsed, 'reset-fields');
    const mode = text(parsed, 'copy-mode');
    const dryRun = parsed.values['dry-run'] === true;
    const answer = await withClient(parsed, (client) =>
      client.tasks.copy({
        task_id: firstId(parsed),
        ...(parsed.values.children === true ? { children: true } : {}),
        ...(mode === undefined ? {} : { copy_mode: mode }),
        ...(ids === undefined ? {} : { custom_task_ids: ids }),
        ...(parsed.values['custom-include-children'] === true ? { custom_include_children: true } : {}),
        ...(reset === undefined ? {} : { reset_fields: reset }),
        ...(dryRun ? { save: false } : {}),
      }),
    );
    const out = dryRun && 'tasks' in answer ? answer.tasks : answer;
    const file = text(parsed, 'output');
    if (file === undefined) return printJson(out);
    writeOutputFile(file, `${JSON.stringify(out, null, 2)}\n`);
    if (process.stderr.isTTY) process.stderr.write(`Wrote ${file}\n`);
  },
};

const cancel: Subcommand = {
  name: 'cancel',
  args: '<ids...>',
  summary: 'Cancels tasks and their unfinished descendants; one result per id: tasks.cancel',
  options: {
    force: { type: 'boolean', short: 'f', description: 'Force (the default message says so)' },
    message: { type: 'string', value: 'text', description: 'The reason stored on the tasks (their error)' },
    ...CONNECT_OPTIONS,
  },
  positionals: { min: 1, max: 1000 },
  async run(parsed) {
    const message = text(parsed, 'message');
    const results = await withClient(parsed, (client) =>
      client.tasks.cancel({
        task_ids: parsed.positionals,
        ...(parsed.values.force === true ? { force: true } : {}),
        ...(message === undefined ? {} : { error_message: message }),
      }),
    );
    printJson(results);
    if (results.some((result) => result.status !== 'cancelled')) process.exitCode = 1;
  },
};

const resume: Subcommand = {
  name: 'resume',
  args: '<id>',
  summary: 'Answers a task waiting for input (input_required), checked against its question: tasks.resume',
  options: {
    input: {
      type: 'string',
      value: 'json',
      description: 'The answer (JSON: a value of the schema the task asked with)',
    },
    ...CONNECT_OPTIONS,
  },
  positionals: ONE,
  async run(parsed) {
    if (text(parsed, 'input') === undefined)
      throw new ApflowError('APF_INVALID_PARAMS', { message: 'tasks resume needs --input JSON: the answer' });
    const input = json(parsed, 'input');
    const task_id = firstId(parsed);
    printJson(await withClient(parsed, (client) => client.tasks.resume({ task_id, input })));
  },
};

/** The actions that change tasks. */
export const writeCommands: Subcommand[] = [create, update, remove, copy, cancel, resume];
