import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { memoryLog, tempProject, testApp } from '../helpers.ts';
import { loadError } from './plugins-setup.ts';

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
