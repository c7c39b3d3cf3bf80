/** Plugin READMEs share these headings (the repository's convention, `extensions/README.md`). */
const PLUGIN_HEADINGS = ['Hooks tapped', 'Routes / methods', 'Config', 'Errors', 'Hot reload notes'];

/** An executor `id` and its test, as `apflow new executor NAME` writes them (paths under the project). */
export function executorFiles(id: string): Record<string, string> {
  return {
    [`executors/${id}.ts`]: `import { defineExecutor, Type } from 'apflow';

/** A task with \`schemas: { method: '${id}' }\` and \`inputs: { name }\` runs this. */
export default defineExecutor({
  id: '${id}',
  description: 'greets inputs.name',
  inputSchema: Type.Object({ name: Type.String() }),
  execute: (inputs, ctx) => {
    ctx.progress(0.5, 'greeting');
    return { greeting: \`hello \${inputs.name}\` };
  },
});
`,
    [`executors/${id}.test.ts`]: `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExecutor } from 'apflow/testing';
import executor from './${id}.ts';

test('${id} greets by name', async () => {
  const run = await runExecutor(executor, { name: 'Ada' });
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.result, { greeting: 'hello Ada' });
});
`,
  };
}

/** A local plugin, its README and its test, as `apflow new plugin NAME` writes them. */
export function pluginFiles(name: string): Record<string, string> {
  const readme = PLUGIN_HEADINGS.map((heading) => `## ${heading}\n\n${pluginNotes[heading] ?? 'None.'}\n`);
  return {
    [`plugins/${name}/index.ts`]: `import { definePlugin, Type } from 'apflow';

/** Answers \`GET /${name}\`. Enable it with \`plugins: ['./plugins/${name}']\` in apflow.config.ts. */
export default definePlugin({
  name: '${name}',
  options: Type.Object({ greeting: Type.String({ default: 'hello' }) }),
  setup(app) {
    app.http.get('/${name}', async () => ({ plugin: '${name}', greeting: app.options.greeting ?? 'hello' }));
  },
});
`,
    [`plugins/${name}/README.md`]: `# ${name}\n\nA local apflow plugin.\n\n${readme.join('\n')}`,
    [`plugins/${name}/index.test.ts`]: `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from 'apflow';

test('${name} answers GET /${name}', async (t) => {
  const plugin = fileURLToPath(new URL('.', import.meta.url));
  const app = await createApp({
    env: {},
    inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] }, log: { level: 'warn' }, plugins: [plugin] },
  });
  t.after(() => app.close());
  const answer = await app.inject('/${name}');
  assert.equal(answer.statusCode, 200);
  assert.deepEqual(answer.json(), { plugin: '${name}', greeting: 'hello' });
});
`,
  };
}

const pluginNotes: Record<string, string> = {
  'Routes / methods': '`GET /<name>`: `{ plugin, greeting }`.',
  Config: "Options (in the `plugins` entry `{ name, options }`): `greeting` (default `'hello'`).",
  'Hot reload notes': 'With `--reload` (`npm run dev`), saving a file of the plugin reloads it.',
};
