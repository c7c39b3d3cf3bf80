import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { started, memoryLog, tempProject, testApp } from '../helpers.ts';
import { CREWAI_DEPENDENCIES, installExtension } from './install-extension.ts';

/** The keys the test key plugin hands out, by provider. */
export const KEYS = { openai: 'sk-openai-test-0123456789abcdef', anthropic: 'sk-ant-test-fedcba9876543210' };

const keysPlugin = `import { definePlugin } from 'apflow';
const keys = ${JSON.stringify(KEYS)};
export default definePlugin({
  name: 'test-keys',
  setup(app) {
    app.hooks.keyResolve.tapPromise('test-keys', async (request) => keys[request.provider]);
  },
});`;

const echoExecutor = `import { defineExecutor, Type } from 'apflow';
export default defineExecutor({
  id: 'echo_tool',
  description: 'Echoes a text',
  inputSchema: Type.Object({ text: Type.String() }),
  async execute(inputs, ctx) { return { echoed: inputs.text.toUpperCase(), user: ctx.user_id }; },
});`;

/**
 * A user's project with `@apflow/crewai` installed in its node_modules (a copy of the package, as
 * npm installs it) and named in `plugins` by its package name, an executor `echo_tool`, and a test
 * plugin answering `keyResolve` with {@link KEYS}; providers' base URLs point at `urls`; `extra` is more config.
 */
export async function crewApp(
  t: TestContext,
  urls: { openai?: string; anthropic?: string },
  extra: Record<string, unknown> = {},
) {
  const dir = tempProject(t, { 'keys.ts': keysPlugin, 'executors/echo.ts': echoExecutor });
  installExtension(dir, 'crewai', '@apflow/crewai', CREWAI_DEPENDENCIES);
  const providers = Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, { base_url: url }]));
  const log = memoryLog();
  const app = await testApp(
    t,
    {
      plugins: ['@apflow/crewai', join(dir, 'keys.ts')],
      llm: { providers },
      executors: { dirs: [join(dir, 'executors')] },
      log: { level: 'debug' },
      ...extra,
    },
    { cwd: dir, logStream: log.stream },
  );
  return { app, log };
}

/** Creates and runs a tree; resolves with the outcome, the rows and every event of the run. */
export async function runTree(app: App, tasks: unknown[], userId = 'alice') {
  const tree = await app.engine.createTree(tasks, { userId });
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = started(await app.engine.execute(tree.id));
  const outcome = await done;
  stop();
  const rows = await app.tasks.tree(tree.id);
  return { tree, outcome, events, rows, row: rows.find((row) => row.id === tree.id) };
}
