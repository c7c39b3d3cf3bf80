/**
 * Shared setup of the `apflow run` / `generate` tests (cli-run*.test.ts, cli-generate.test.ts):
 * a remote project (cli-remote-setup.ts) with two more executors — `ask` (asks a question) and
 * `generate_executor` (a deterministic stand-in for an LLM's) — and helpers to compare answers.
 */
import type { TestContext } from 'node:test';
import { rpc } from '../helpers.ts';
import { fixtureExecutors, remoteProject } from './cli-remote-setup.ts';

export type Project = Awaited<ReturnType<typeof remoteProject>>;

const executors = {
  'executors/ask.ts': `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'ask',
  description: 'asks whether to go on',
  async execute(_inputs: Record<string, unknown>, ctx) {
    return { answer: await ctx.askInput<{ ok: boolean }>({ prompt: 'Go on?' }) };
  },
});
`,
  // tasks.generate's contract (plugins/tasks-api/generate-method.ts): inputs in, {tasks: [...]} out.
  'executors/generate.ts': `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'generate_executor',
  description: 'plans one echo task per requirement (a stand-in for an LLM)',
  execute(inputs: Record<string, unknown>) {
    if (String(inputs.requirement).includes('impossible')) throw new Error('no plan for that');
    const { requirement, ...settings } = inputs;
    return { tasks: [{ name: 'Plan: ' + String(requirement), schemas: { method: 'echo' }, inputs: { requirement, ...settings } }] };
  },
});
`,
};

/** A served project (auth on) with the fixture executors, `ask` and `generate_executor`. */
export function runProject(t: TestContext): Promise<Project> {
  return remoteProject(t, {
    'apflow.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({
  database: { url: 'sqlite:./.data/apflow.sqlite' },
  executors: { dirs: [${JSON.stringify(fixtureExecutors)}, './executors'] },
  examples: { auto_init: false },
  // A cancel made elsewhere reaches a run in a CLI process within a third of this.
  engine: { lease_s: 2 },
});
`,
    ...executors,
  });
}

/** Calls a `/tasks` method on the project's server as `user` (default admin); its result. */
export async function call(project: Project, method: string, params: unknown, user = 'admin'): Promise<unknown> {
  const answer = await rpc(
    project.url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method, params },
    { authorization: `Bearer ${await project.token(user)}` },
  );
  if (answer.body?.error) throw new Error(`${method} failed: ${JSON.stringify(answer.body.error)}`);
  return answer.body?.result;
}

/** A run's answer with its generated ids replaced, to compare answers of two runs. */
export function withoutIds(answer: unknown): unknown {
  return JSON.parse(
    JSON.stringify(answer).replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<id>"'),
  ) as unknown;
}
