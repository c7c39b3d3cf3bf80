/** Shared setup of the plugin loading tests: a small local plugin and the error a failing start gives. */
import assert from 'node:assert/strict';
import { createApp, isApflowError } from 'apflow';
import { memoryLog } from '../helpers.ts';

/** A local plugin with a GET /hello route and a hello.say method, greeting from its options. */
export const hello = `import { definePlugin, Type } from 'apflow';
export default definePlugin({
  name: 'hello',
  options: Type.Object({ greeting: Type.String({ default: 'hello' }) }, { additionalProperties: false }),
  setup(app) {
    app.http.get('/hello', async () => ({ greeting: app.options.greeting }));
    app.rpc.method('/system', 'hello.say', {
      params: Type.Object({ name: Type.String() }),
      handler: (params) => \`\${app.options.greeting} \${params.name}\`,
    });
  },
});`;

/** Starts an app that must fail; returns its ApflowError as `code: message`. */
export async function loadError(inline: Record<string, unknown>, cwd?: string): Promise<string> {
  const log = memoryLog();
  const error = await createApp({
    env: {},
    cwd,
    logStream: log.stream,
    inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] }, ...inline },
  }).then(
    async (app) => {
      await app.close();
      return assert.fail('expected the start to fail');
    },
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), String(error));
  return `${error.code}: ${error.message}`;
}
