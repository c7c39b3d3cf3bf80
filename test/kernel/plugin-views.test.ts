import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { tempProject, testApp } from '../helpers.ts';

// A plugin that reports, over HTTP, what its `app` holds; and that uses what plugins need: its
// own table through `storage.sql`, an executor of its own, and a tree run through `engine`.
const probe = `import { definePlugin, DataTypes } from 'apflow';
export default definePlugin({
  name: 'views-probe',
  migrations: [{
    name: '0001-notes',
    up: (sequelize) => sequelize.getQueryInterface().createTable('views_probe_notes', {
      id: { type: DataTypes.STRING(64), primaryKey: true },
    }),
    down: (sequelize) => sequelize.getQueryInterface().dropTable('views_probe_notes'),
  }],
  setup(app) {
    app.executors.register({ id: 'views_probe_echo', execute: (inputs) => ({ echoed: inputs.word }) });
    const members = (view) => ({
      keys: Object.keys(view).sort(),
      frozen: Object.isFrozen(view),
      reach: Object.fromEntries(['start', 'close', 'owner', 'sequelize', 'migrate', 'migratePlugin', 'ping']
        .map((name) => [name, Reflect.get(view, name) !== undefined])),
    });
    // Process-wide, as an extension keeps state per server (keyed by app.engine) across reloads.
    const seen = (globalThis[Symbol.for('views-probe')] ??= new WeakMap());
    if (!seen.has(app.engine)) seen.set(app.engine, crypto.randomUUID());
    app.http.get('/views', async () => ({
      engine: members(app.engine),
      storage: members(app.storage),
      serverId: app.serverId,
      engineKey: seen.get(app.engine),
    }));
    app.http.post('/views/use', async () => {
      const sql = app.storage.sql;
      await sql.write((tx) => tx.run('INSERT INTO views_probe_notes (id) VALUES (?)', ['n1']));
      const notes = await sql.select('SELECT id FROM views_probe_notes');
      const tree = await app.engine.createTree([{ name: 'probe', schemas: { method: 'views_probe_echo' }, inputs: { word: 'hi' } }]);
      const run = await app.engine.execute(tree.id);
      if (run.started === false) throw new Error('the new tree is running already');
      const outcome = await run.done;
      const stored = await app.tasks.get(tree.id);
      return { dialect: app.storage.dialect, notes, status: outcome.status, result: stored?.result };
    });
  },
});`;

async function probeApp(t: TestContext) {
  const dir = tempProject(t, { 'views-probe.ts': probe });
  return testApp(t, { plugins: [join(dir, 'views-probe.ts')] });
}

test("a plugin's engine and storage are views: no start, close or owner; no sequelize, close or migrations", async (t) => {
  const app = await probeApp(t);
  const views = (await app.inject('/views')).json();
  assert.deepEqual(views.engine.reach, {
    start: false,
    close: false,
    owner: false,
    sequelize: false,
    migrate: false,
    migratePlugin: false,
    ping: false,
  });
  assert.equal(views.engine.frozen, true, 'a plugin cannot add the members back for others');
  for (const member of ['createTree', 'execute', 'cancel', 'copy', 'follow', 'subscribe', 'onStart', 'isRunning'])
    assert.ok(views.engine.keys.includes(member), `the engine view keeps ${member}`);
  assert.deepEqual(views.storage.keys, ['dialect', 'sql']);
  assert.equal(views.storage.frozen, true);
  // The app an embedder holds is the whole engine: the views are for plugins only.
  assert.equal(typeof app.engine.start, 'function');
  assert.equal(typeof app.storage.close, 'function');
});

test('through the views a plugin keeps its own table and runs trees', async (t) => {
  const app = await probeApp(t);
  const used = (await app.inject({ method: 'POST', url: '/views/use', payload: {} })).json();
  assert.deepEqual(used, {
    dialect: 'sqlite',
    notes: [{ id: 'n1' }],
    status: 'completed',
    result: { echoed: 'hi' },
  });
});

test("a plugin's serverId and engine are this server's, the same across a reload", async (t) => {
  const app = await probeApp(t);
  const before = (await app.inject('/views')).json();
  assert.equal(typeof before.serverId, 'string');
  assert.ok(before.serverId.length > 0);
  await app.reload();
  assert.equal(app.generation().id, 2, `no new generation: ${JSON.stringify((await app.health()).reload_errors)}`);
  const after = (await app.inject('/views')).json();
  assert.equal(after.serverId, before.serverId);
  assert.equal(after.engineKey, before.engineKey, 'the reloaded plugin gets the same engine object');
  const other = (await (await probeApp(t)).inject('/views')).json();
  assert.notEqual(other.serverId, before.serverId, 'another server has its own id');
  assert.notEqual(other.engineKey, before.engineKey, 'and its own engine');
});
