import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, isApflowError } from 'apflow';
import { memoryLog, tempProject, testApp, writeFiles } from '../helpers.ts';

const hello = `import { definePlugin, Type } from 'apflow';
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

async function loadError(inline: Record<string, unknown>, cwd?: string): Promise<string> {
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
    'sse',
    'system',
    'tasks-api',
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
    'sse',
    'tasks-api',
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

test('a plugin registers executors that the app can look up', async (t) => {
  const dir = tempProject(t, {
    'exec.ts': `import { definePlugin, defineExecutor, Type } from 'apflow';
export default definePlugin({
  name: 'exec',
  setup(app) {
    app.executors.register(defineExecutor({ id: 'echo', description: 'echoes', inputSchema: Type.Object({ text: Type.String() }), execute: (inputs) => inputs.text }));
  },
});`,
  });
  const app = await testApp(t, { plugins: [join(dir, 'exec.ts')] });
  const echo = app.executor('echo');
  assert.ok(echo);
  assert.equal(echo.source, 'plugin:exec');
  assert.deepEqual(echo.validate({ text: 'x' }), null);
  assert.match(String(echo.validate({ text: 1 })), /text/);
  const listed = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 1, method: 'system.executors' },
  });
  const ids = listed.json().result.executors.map((e: { id: string }) => e.id);
  assert.ok(ids.includes('echo') && ids.includes('rest_executor'), ids.join());
});

test('plugin migrations create its tables once per database, recorded under its name; a failing one names the plugin', async (t) => {
  const dir = tempProject(t, {
    'notes.ts': `import { DataTypes, definePlugin } from 'apflow';
export default definePlugin({
  name: 'notes',
  migrations: [{
    name: '0001-create-notes',
    async up(sequelize) { await sequelize.getQueryInterface().createTable('notes_items', { id: { type: DataTypes.STRING(64), primaryKey: true }, body: { type: DataTypes.TEXT } }); },
    async down(sequelize) { await sequelize.getQueryInterface().dropTable('notes_items'); },
  }],
  setup(app) {
    app.rpc.method('/system', 'notes.add', { handler: async (params) => {
      await app.storage.sql.write((tx) => tx.run('INSERT INTO notes_items (id, body) VALUES (?, ?)', [String(params.id), String(params.body)]));
      return (await app.storage.sql.select('SELECT COUNT(*) AS n FROM notes_items'))[0];
    } });
  },
});`,
    'broken.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'broken',
  migrations: [{ name: '0001-bad', async up(sequelize) { await sequelize.query('CREATE TABLE nonsense ((('); }, async down() {} }],
  setup() {},
});`,
  });
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  for (const round of [1, 2]) {
    const app = await createApp({
      env: {},
      logStream: memoryLog().stream,
      inline: { database, executors: { dirs: [] }, plugins: [join(dir, 'notes.ts')] },
    });
    try {
      const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
      const answer = await fetch(`${url}/system`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'notes.add', params: { id: `n${round}`, body: 'hi' } }),
      });
      assert.equal(
        Number(((await answer.json()) as { result: { n: number } }).result.n),
        round,
        'the table survives the restart and is not re-created',
      );
      const applied = (await app.storage.sql.select<{ name: string }>('SELECT name FROM apflow_migrations')).map(
        (row) => row.name,
      );
      assert.ok(applied.includes('notes/0001-create-notes'), applied.join(', '));
    } finally {
      await app.close();
    }
  }
  assert.match(
    await loadError({ plugins: [join(dir, 'broken.ts')] }),
    /APF_PLUGIN_LOAD_FAILED: plugin 'broken' failed to migrate its tables: .+/,
  );
});

test('an endpoint fallback answers the methods nobody registered; registered methods come first; one fallback per endpoint', async (t) => {
  const fallback = (name: string) => `import { definePlugin } from 'apflow';
export default definePlugin({
  name: '${name}',
  setup(app) {
    app.rpc.method('/agent', 'agent.known', { handler: () => 'registered' });
    app.rpc.fallback('/agent', async (call, ctx) => ({ jsonrpc: '2.0', id: ctx.id, result: { fallback: call.method, params: call.params ?? null } }));
  },
});`;
  const dir = tempProject(t, {
    'one.ts': fallback('one'),
    'two.ts': fallback('two').replace("app.rpc.method('/agent', 'agent.known', { handler: () => 'registered' });", ''),
  });
  const app = await testApp(t, { plugins: [join(dir, 'one.ts')] });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (body: unknown) =>
    (
      await fetch(`${url}/agent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json() as Promise<Record<string, unknown>>;
  assert.deepEqual(await call({ jsonrpc: '2.0', id: 1, method: 'agent.known' }), {
    jsonrpc: '2.0',
    id: 1,
    result: 'registered',
  });
  assert.deepEqual(await call({ jsonrpc: '2.0', id: 2, method: 'Other/Thing', params: { a: 1 } }), {
    jsonrpc: '2.0',
    id: 2,
    result: { fallback: 'Other/Thing', params: { a: 1 } },
  });
  assert.equal(
    ((await call({ jsonrpc: '1.0', id: 3, method: 'x' })).error as { code: number }).code,
    -32600,
    'the envelope is checked before the fallback',
  );
  assert.match(
    await loadError({ plugins: [join(dir, 'one.ts'), join(dir, 'two.ts')] }),
    /fallback of \/agent is claimed by both 'one' and 'two'/,
  );
});
