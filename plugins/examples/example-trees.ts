/** Set on the REST example: its `inputs.url` is pointed at this server (see `self-url.ts`). */
export const SELF_PATH_PARAM = 'example_self_path';

/** One example tree: a tasks array as `tasks.create` takes it, and what it needs to run. */
export interface ExampleTree {
  /** The root's id (`example-…`). */
  id: string;
  name: string;
  tasks: Record<string, unknown>[];
  /** An executor the tree needs; without it the example is skipped. */
  needs?: { executor: string; why: string };
}

/**
 * The example trees, for a server whose own URL is `selfUrl` (no trailing slash). Every task has
 * a fixed `example-` id, `user_id` null (every user may run it) and a name starting "Example:".
 */
export function exampleTrees(selfUrl: string): ExampleTree[] {
  const systemInfo: ExampleTree = {
    id: 'example-system-info',
    name: 'Example: system info and aggregation',
    tasks: [
      {
        id: 'example-system-info',
        name: 'Example: system info and aggregation',
        schemas: { method: 'aggregate_results_executor' },
        dependencies: ['cpu', 'memory', 'disk'].map((part) => ({ id: `example-system-info-${part}`, required: true })),
      },
      ...['cpu', 'memory', 'disk'].map((part) => ({
        id: `example-system-info-${part}`,
        parent_id: 'example-system-info',
        name: `Example: ${part} info`,
        schemas: { method: 'system_info_executor' },
        inputs: { resource: part },
      })),
    ],
  };
  const rest: ExampleTree = {
    id: 'example-rest-health',
    name: "Example: REST call to this server's /health",
    tasks: [
      {
        id: 'example-rest-health',
        name: "Example: REST call to this server's /health",
        schemas: { method: 'rest_executor' },
        params: { [SELF_PATH_PARAM]: '/health' },
        inputs: { url: `${selfUrl}/health`, method: 'GET', timeout: 10 },
      },
    ],
  };
  const crew: ExampleTree = {
    id: 'example-crewai-demo',
    name: 'Example: CrewAI crew (run with use_demo: true)',
    needs: { executor: 'crewai_executor', why: 'the @apflow/crewai extension is not loaded' },
    tasks: [
      {
        id: 'example-crewai-demo',
        name: 'Example: CrewAI crew (run with use_demo: true)',
        schemas: { method: 'crewai_executor', model: 'openai/gpt-4o-mini' },
        inputs: { topic: 'task trees for AI agents' },
        params: {
          works: {
            agents: {
              researcher: {
                role: 'Researcher',
                goal: 'Explain {topic} to a beginner',
                backstory: 'You write short, clear notes.',
              },
            },
            tasks: {
              summary: {
                description: 'Explain {topic} in three bullet points.',
                expected_output: 'Three bullet points',
                agent: 'researcher',
              },
            },
          },
        },
      },
    ],
  };
  return [systemInfo, rest, crew];
}
