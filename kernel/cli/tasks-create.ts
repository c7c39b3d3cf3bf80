import { ApflowError } from '../errors/apflow-error.ts';
import { CONNECT_OPTIONS, text, type Subcommand } from './command-group.ts';
import { printJson } from './print.ts';
import { parseJson, readStdin, readTasks, readText, withOwner } from './read-input.ts';
import { withClient } from './tasks-client.ts';

/** `apflow tasks create (-f FILE | --stdin) [-u USER]`: a tree from JSON, created and not run. */
export const create: Subcommand = {
  name: 'create',
  summary: 'Creates a task tree from JSON (it does not run it); prints the tree: tasks.create',
  options: {
    file: {
      type: 'string',
      short: 'f',
      value: 'path',
      description: 'A JSON file holding a tasks array, {"tasks": [...]}, or one task (- for standard input)',
    },
    stdin: { type: 'boolean', description: 'Read the JSON from standard input' },
    'user-id': { type: 'string', short: 'u', value: 'id', description: 'Owner of the tasks that name none' },
    ...CONNECT_OPTIONS,
  },
  async run(parsed) {
    const file = text(parsed, 'file');
    const stdin = parsed.values.stdin === true;
    if ((file === undefined) === !stdin)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: "'tasks create' reads one source: -f/--file PATH or --stdin",
      });
    const fromStdin = stdin || file === '-';
    const source = fromStdin ? 'standard input' : (file ?? '');
    const raw = fromStdin ? await readStdin() : readText(source);
    const tasks = withOwner(readTasks(parseJson(raw, source), source), text(parsed, 'user-id'));
    printJson(await withClient(parsed, (client) => client.tasks.create(tasks)));
  },
};
