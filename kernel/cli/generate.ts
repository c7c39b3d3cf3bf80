import { CONNECT_OPTIONS, decimal, integer, runGroup, text, type Parsed } from './command-group.ts';
import { withClient } from './connect.ts';
import { writeOutputFile } from './output-file.ts';

/**
 * `apflow generate task-tree "REQUIREMENT"` (the original's): a task tree from a requirement, by
 * the server's (or this project's) `generate_executor`, through `tasks.generate`; prints the
 * generated tasks array, or writes it to `-o FILE`. With `--save` the tree is stored too.
 */
export async function generateGroup(argv: string[]): Promise<void> {
  await runGroup(
    'generate',
    'Task trees from a requirement, by an LLM (tasks.generate; needs a generate_executor, e.g. @apflow/crewai)',
    [
      {
        name: 'task-tree',
        args: '<requirement>',
        summary:
          'Prints the generated tasks array (JSON; run it with apflow run flow --tasks-file); exit 1 when generation fails',
        positionals: { min: 1, max: 1 },
        options: {
          'user-id': { type: 'string', short: 'u', value: 'id', description: 'The owner of the tasks' },
          provider: { type: 'string', short: 'p', value: 'name', description: 'LLM provider (openai, anthropic, …)' },
          model: { type: 'string', short: 'm', value: 'name', description: 'LLM model' },
          temperature: { type: 'string', short: 't', value: 'n', description: 'LLM temperature, 0 to 2' },
          'max-tokens': { type: 'string', value: 'n', description: 'At most this many tokens in the answer' },
          output: {
            type: 'string',
            short: 'o',
            value: 'file',
            description: 'Write the tasks to FILE instead of stdout',
          },
          pretty: { type: 'boolean', description: 'Indented JSON (the default)' },
          'no-pretty': { type: 'boolean', description: 'JSON on one line' },
          save: { type: 'boolean', description: 'Also store the tree (its root id goes to stderr)' },
          'no-save': { type: 'boolean', description: 'Do not store it (the default)' },
          ...CONNECT_OPTIONS,
        },
        run: generateTaskTree,
      },
    ],
    argv,
  );
}

async function generateTaskTree(parsed: Parsed): Promise<void> {
  const requirement = parsed.positionals[0] as string;
  const temperature = decimal(parsed, 'temperature');
  const maxTokens = integer(parsed, 'max-tokens');
  const params = {
    requirement,
    ...optional('user_id', text(parsed, 'user-id')),
    ...optional('llm_provider', text(parsed, 'provider')),
    ...optional('model', text(parsed, 'model')),
    ...optional('temperature', temperature),
    ...optional('max_tokens', maxTokens),
    ...(parsed.values.save === true && parsed.values['no-save'] !== true ? { save: true } : {}),
  };
  const answer = await withClient(parsed, (client) => client.tasks.generate(params));
  const pretty = parsed.values['no-pretty'] !== true;
  const json = `${pretty ? JSON.stringify(answer.tasks, null, 2) : JSON.stringify(answer.tasks)}\n`;
  const output = text(parsed, 'output');
  const saved = answer.root_task_id === undefined ? '' : `; saved as the tree ${answer.root_task_id}`;
  if (output === undefined) process.stdout.write(json);
  else
    try {
      writeOutputFile(output, json);
    } catch (error) {
      if (saved) process.stderr.write(`${answer.count} task(s) generated${saved}\n`); // it is stored all the same
      throw error;
    }
  if (output !== undefined || saved)
    process.stderr.write(
      `${answer.count} task(s) generated${output === undefined ? '' : `, written to ${output}`}${saved}\n`,
    );
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
