import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempProject, testApp } from '../helpers.ts';
import { loadError } from './plugins-setup.ts';

test('plugins are set up in dependency order and disposed in reverse order on close', async (t) => {
  const plugin = (name: string, deps: string[]) => `import { definePlugin } from 'apflow';
const log = ((globalThis as Record<string, unknown>).pluginOrder ??= []) as string[];
export default definePlugin({
  name: '${name}',
  dependencies: ${JSON.stringify(deps)},
  setup(app) {
    log.push('setup:${name}');
    app.onDispose(() => { log.push('dispose-extra:${name}'); });
    return () => { log.push('dispose:${name}'); };
  },
});`;
  const dir = tempProject(t, { 'c.ts': plugin('c', ['b']), 'b.ts': plugin('b', ['a']), 'a.ts': plugin('a', []) });
  const order: string[] = [];
  (globalThis as Record<string, unknown>).pluginOrder = order;
  const app = await testApp(t, { plugins: ['c.ts', 'b.ts', 'a.ts'].map((file) => join(dir, file)) });
  assert.deepEqual(order, ['setup:a', 'setup:b', 'setup:c']);
  await app.close();
  assert.deepEqual(order.slice(3), [
    'dispose:c',
    'dispose-extra:c',
    'dispose:b',
    'dispose-extra:b',
    'dispose:a',
    'dispose-extra:a',
  ]);
});

test('config sections: unknown top-level keys are refused, sections plugins declare are checked', async (t) => {
  assert.match(
    await loadError({ sever: { port: 1 } }),
    /- sever: unknown key \(not a kernel setting, and no plugin declares it\)/,
  );
  const dir = tempProject(t, {
    'owner.ts': `import { definePlugin, Type } from 'apflow';
export default definePlugin({
  name: 'owner',
  config: { key: 'owner', schema: Type.Object({ level: Type.Integer() }, { additionalProperties: false }) },
  setup(app) { app.http.get('/owner', async () => app.config.owner); },
});`,
  });
  const app = await testApp(t, { plugins: [join(dir, 'owner.ts')], owner: { level: 3 } });
  assert.deepEqual((await app.inject('/owner')).json(), { level: 3 });
  assert.match(
    await loadError({ plugins: [join(dir, 'owner.ts')], owner: { level: 'high' } }),
    /invalid configuration for plugin 'owner':\n- owner\.level: must be integer/,
  );
});

test('a plugin may not tap a hook under another name, nor register a method twice', async (t) => {
  const dir = tempProject(t, {
    'impostor.ts':
      "import { definePlugin } from 'apflow';\nexport default definePlugin({ name: 'impostor', setup(app) { app.hooks.progress.tap('system', () => {}); } });\n",
    'dup.ts':
      "import { definePlugin } from 'apflow';\nexport default definePlugin({ name: 'dup', setup(app) { app.rpc.method('/system', 'system.health', { handler: () => 1 }); } });\n",
  });
  assert.match(
    await loadError({ plugins: [join(dir, 'impostor.ts')] }),
    /plugin 'impostor' failed to load: plugin 'impostor' tapped hook 'progress' as 'system'/,
  );
  assert.match(
    await loadError({ plugins: [join(dir, 'dup.ts')] }),
    /JSON-RPC method 'system\.health' on \/system is registered by both 'system' and 'dup'/,
  );
});

test('auth.enabled without a plugin that authenticates refuses to start', async () => {
  assert.match(
    await loadError({ auth: { enabled: true, jwt_secret: 's' }, disabled_plugins: ['jwt-auth'] }),
    /auth\.enabled is true, but no loaded plugin authenticates requests/,
  );
  assert.match(
    await loadError({ auth: { enabled: true } }),
    /authentication is on \(auth\.enabled\) but nothing can verify tokens: set auth\.jwt_secret/,
  );
});
