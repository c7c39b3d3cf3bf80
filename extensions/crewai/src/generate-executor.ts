import { ApflowError, checkTaskTree, defineExecutor, Type, type RegisteredExecutor, isRecord } from 'apflow';
import { generate, openModel, type LlmSettings } from './llm-call.ts';
import { noUsage } from './token-usage.ts';

const DEFAULT_MODELS: Record<string, string> = {
  openai: 'openai/gpt-4o',
  anthropic: 'anthropic/claude-3-5-sonnet-20241022',
};

/** What the model is told: the task format apflow runs, and the executors this server has. */
function instructions(executors: readonly RegisteredExecutor[]): string {
  const catalogue = executors
    .filter((entry) => entry.definition.id !== 'generate_executor')
    .map((entry) => `- ${entry.definition.id}: ${entry.definition.description ?? entry.definition.name ?? ''}`)
    .join('\n');
  return [
    'You plan task trees for apflow, a server that runs trees of tasks. Answer with JSON only, no prose:',
    '{"tasks": [ {"id": "<short unique id>", "name": "<what it does>", "parent_id": "<id of its parent>", "schemas": {"method": "<executor id>"}, "inputs": {…}, "dependencies": [{"id": "<task id>", "required": true}]} ]}',
    'Exactly one task has no parent_id: the root, which runs last. A task runs after its children and its dependencies; the results of its dependencies are merged into its inputs.',
    'Use only these executors (schemas.method):',
    catalogue,
  ].join('\n');
}

/** The tasks array in a model's answer: bare JSON, fenced JSON, an array or `{"tasks": […]}`. */
export function tasksIn(text: string): unknown[] {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1] ?? text;
  const start = fenced.search(/[[{]/);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fenced.slice(start).trim());
  } catch {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'The model did not answer with JSON holding a tasks array',
    });
  }
  const tasks = Array.isArray(parsed) ? parsed : isRecord(parsed) ? parsed.tasks : undefined;
  if (!Array.isArray(tasks))
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'The model answered JSON without a tasks array' });
  return tasks;
}

/**
 * `generate_executor` (the original's, behind `tasks.generate`): describe a goal, get a task tree
 * that this server can run — checked as tree creation would check it, and naming only executors
 * it has.
 */
export function createGenerateExecutor(settings: LlmSettings, executors: { list(): RegisteredExecutor[] }) {
  return defineExecutor({
    id: 'generate_executor',
    name: 'Generate task tree',
    description: 'An LLM turns a requirement into a task tree (tasks array) that apflow can run',
    inputSchema: Type.Object({
      requirement: Type.String({ minLength: 1 }),
      llm_provider: Type.Optional(Type.String()),
      model: Type.Optional(Type.String()),
      temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
      max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    async execute(inputs, ctx) {
      const provider = inputs.llm_provider ?? 'openai';
      const open = await openModel(inputs.model ?? DEFAULT_MODELS[provider] ?? `${provider}/default`, ctx, settings);
      const known = executors.list();
      const answer = await generate(
        open,
        {
          system: instructions(known),
          messages: [{ role: 'user', content: inputs.requirement }],
          temperature: inputs.temperature ?? 0.7,
          maxTokens: inputs.max_tokens ?? 4000,
        },
        ctx.signal,
        ctx.log,
      );
      const tasks = tasksIn(answer.text);
      checkTaskTree(tasks);
      const ids = new Set(known.map((entry) => entry.definition.id));
      const unknown = tasks
        .map((task) => (isRecord(task) && isRecord(task.schemas) ? task.schemas.method : undefined))
        .filter((method) => typeof method !== 'string' || !ids.has(method));
      if (unknown.length)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `The generated tree names executors this server does not have: ${[...new Set(unknown.map(String))].join(', ')}`,
        });
      return { tasks, count: tasks.length, token_usage: answer.usage };
    },
    // A small tree of built-in executors that runs anywhere (no model was asked).
    demoResult: () => ({
      tasks: [
        {
          id: 'demo-aggregate',
          name: 'Aggregate the system facts',
          schemas: { method: 'aggregate_results_executor' },
          dependencies: [{ id: 'demo-cpu', required: true }],
        },
        {
          id: 'demo-cpu',
          parent_id: 'demo-aggregate',
          name: 'CPU facts',
          schemas: { method: 'system_info_executor' },
          inputs: { resource: 'cpu' },
        },
      ],
      count: 2,
      token_usage: noUsage(),
    }),
  });
}
