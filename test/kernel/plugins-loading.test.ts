import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { memoryLog, tempProject, testApp, writeFiles } from '../helpers.ts';
import { hello, loadError } from './plugins-setup.ts';

test('a local plugin adds routes and JSON-RPC methods, with options from the config', async (t) => {
  const dir = tempProject(t, { 'hello.ts': hello });
  const app = await testApp(t, { plugins: [{ name: join(dir, 'hello.ts'), options: { greeting: 'hi' } }] });
  assert.deepEqual((await app.inject('/hello')).json(), { greeting: 'hi' });
  const call = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 'a', method: 'hello.say', params: { name: 'Ada' } },
  });
  assert.deepEqual(call.json(), { jsonrpc: '2.0', id: 'a', result: 'hi Ada' });
  assert.deepEqual((await app.health()).plugins, [
    'a2a',
    'api-docs',
    'builtin-executors',
    'cors',
    'dashboard',
    'examples',
    'jwt-auth',
    'llm-keys',
    'mcp',
    'metrics',
    'quotas',
    'schedules',
    'sse',
    'system',
    'tasks-api',
    'telemetry',
    'webhooks',
    'websocket',
    'hello',
  ]);
});

test('relative plugin paths in a config file resolve from its folder', async (t) => {
  const dir = tempProject(t, {
    'plugins/hello.ts': hello,
    'apflow.config.json': JSON.stringify({ plugins: ['./plugins/hello.ts'] }),
  });
  const app = await createApp({
    cwd: dir,
    env: { APFLOW_DATABASE_URL: 'sqlite::memory:' },
    logStream: memoryLog().stream,
  });
  t.after(() => app.close());
  assert.deepEqual((await app.inject('/hello')).json(), { greeting: 'hello' });
});

test('a plugin installed with npm loads by package name from the app node_modules', async (t) => {
  const dir = tempProject(t);
  writeFiles(join(dir, 'node_modules', 'apflow-plugin-ping'), {
    'package.json': JSON.stringify({
      name: 'apflow-plugin-ping',
      type: 'module',
      exports: { '.': { import: './dist/index.js' } },
    }),
    'dist/index.js':
      "import { definePlugin } from 'apflow';\nexport default definePlugin({ name: 'ping', setup(app) { app.http.get('/ping', async () => 'pong'); } });\n",
  });
  const app = await testApp(t, { plugins: ['apflow-plugin-ping'] }, { cwd: dir });
  assert.equal((await app.inject('/ping')).body, 'pong');
});

test('disabled_plugins turns a built-in off; naming an unknown built-in is an error', async (t) => {
  const app = await testApp(t, { disabled_plugins: ['system'] });
  const response = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 1, method: 'system.health' },
  });
  assert.equal(response.statusCode, 404);
  assert.equal(response.json().error.code, 'APF_ROUTE_NOT_FOUND');
  assert.deepEqual((await app.health()).plugins, [
    'a2a',
    'api-docs',
    'builtin-executors',
    'cors',
    'dashboard',
    'examples',
    'jwt-auth',
    'llm-keys',
    'mcp',
    'metrics',
    'quotas',
    'schedules',
    'sse',
    'tasks-api',
    'telemetry',
    'webhooks',
    'websocket',
  ]);
  assert.match(
    await loadError({ disabled_plugins: ['sytsem'] }),
    /disabled_plugins names 'sytsem', which is not a built-in plugin \(built-ins: .*system/,
  );
});

test('a plugin that fails to load stops the start with an error naming it and the reason', async (t) => {
  const dir = tempProject(t, {
    'throws.ts':
      "import { definePlugin } from 'apflow';\nexport default definePlugin({ name: 'boom', setup() { throw new Error('no database for me'); } });\n",
    'syntax.ts': 'export default {{{',
    'shapeless.ts': 'export default { name: 42 };\n',
    'nosetup.ts': "export default { name: 'lazy' };\n",
    'a.ts':
      "import { definePlugin } from 'apflow';\nexport default definePlugin({ name: 'a', dependencies: ['missing'], setup() {} });\n",
    'bad-options.ts': hello,
    'twin.ts': hello.replace("name: 'hello'", "name: 'system'"),
  });
  const cases: [unknown, RegExp][] = [
    [join(dir, 'throws.ts'), /APF_PLUGIN_LOAD_FAILED: plugin 'boom' failed to load: no database for me/],
    [join(dir, 'syntax.ts'), /plugin '.*syntax\.ts' failed to load: /],
    [join(dir, 'shapeless.ts'), /its definition has no 'name'/],
    [join(dir, 'nosetup.ts'), /plugin 'lazy' failed to load: its definition has no setup\(\) function/],
    [join(dir, 'nothere.ts'), /plugin '.*nothere\.ts' failed to load: no such file/],
    ['not-installed-anywhere', /plugin 'not-installed-anywhere' failed to load: package not found in node_modules/],
    [join(dir, 'a.ts'), /plugin 'a' failed to load: it depends on plugin 'missing', which is not loaded/],
    [
      { name: join(dir, 'bad-options.ts'), options: { greeting: 5 } },
      /APF_CONFIG_INVALID: invalid configuration for plugin 'hello':\n- plugins\['hello'\]\.options\.greeting: must be string/,
    ],
    [join(dir, 'twin.ts'), /plugin 'system' failed to load: another plugin has the same name/],
  ];
  for (const [entry, expected] of cases) {
    assert.match(await loadError({ plugins: [entry] }), expected);
  }
});
