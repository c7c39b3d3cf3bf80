import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, type App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { memoryLog, repoRoot, tempProject } from '../helpers.ts';
import { loadError } from './plugins-setup.ts';
import { dumpSchema } from './schema-dump.ts';

const start = (url: string, plugins: string[] = []) =>
  createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: { database: { url }, executors: { dirs: [] }, examples: { auto_init: false }, plugins },
  });

for (const db of testDatabases()) {
  test(`${db.name}: a new database gets the tables the Sequelize-written migrations made (test/fixtures/schema, from apflow 84d5e1e)`, async (t) => {
    const app = await start(await db.create(t));
    t.after(() => app.close());
    const expected = readFileSync(join(repoRoot, 'test/fixtures/schema', `${db.name}.txt`), 'utf8');
    assert.equal(await dumpSchema(app), expected);
  });

  test(`${db.name}: a plugin's SQL migrations each apply with their record; one that fails stops the start, naming the plugin, and leaves nothing of itself`, async (t) => {
    const plugin = (second: string) => `import { columnTypes, definePlugin } from 'apflow';
export default definePlugin({
  name: 'steps',
  migrations: [
    { name: '0001-a', sql: (dialect) => ['CREATE TABLE steps_a (id VARCHAR(64) PRIMARY KEY, at ' + columnTypes(dialect).time + ')'] },
    { name: '0002-b', sql: () => ['CREATE TABLE steps_b (id VARCHAR(64) PRIMARY KEY)', ${JSON.stringify(second)}] },
  ],
  setup() {},
});`;
    const dir = tempProject(t, {
      'bad.ts': plugin('CREATE TABLE nonsense ((('),
      'good.ts': plugin('CREATE INDEX steps_b_id ON steps_b (id)'),
    });
    const url = await db.create(t);
    assert.match(
      await loadError({ database: { url }, plugins: [join(dir, 'bad.ts')] }),
      /^APF_PLUGIN_LOAD_FAILED: plugin 'steps' failed to migrate its tables: .*syntax error/,
    );
    /** The plugin's migrations recorded as run, sorted. */
    const recorded = async (on: App) =>
      (await on.storage.sql.select<{ name: string }>('SELECT name FROM apflow_migrations'))
        .map((row) => row.name)
        .filter((name) => name.startsWith('steps/'))
        .sort();
    const app = await start(url);
    assert.deepEqual(await recorded(app), ['steps/0001-a'], 'the first is kept and recorded, the failed one is not');
    await app.storage.sql.select('SELECT id, at FROM steps_a');
    await assert.rejects(app.storage.sql.select('SELECT id FROM steps_b'), 'the failed migration left no table');
    await app.close();

    const fixed = await start(url, [join(dir, 'good.ts')]);
    t.after(() => fixed.close());
    assert.deepEqual(await recorded(fixed), ['steps/0001-a', 'steps/0002-b']);
    await fixed.storage.sql.select('SELECT id FROM steps_b');
  });
}

test('a first start on a new database loads neither Sequelize nor umzug', (t) => {
  const dir = tempProject(t);
  const script = `import { createApp } from 'apflow';
import { createRequire } from 'node:module';
const app = await createApp({ env: {}, inline: { database: { url: 'sqlite:${join(dir, 'new.sqlite')}' }, log: { level: 'error' } } });
const tables = await app.storage.sql.select("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'apflow_tasks'");
await app.close();
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((file) => /node_modules.(sequelize|umzug)./.test(file));
console.log(JSON.stringify({ tables: tables.length, loaded: loaded.length }));`;
  const out = execFileSync(
    process.execPath,
    ['--import', join(repoRoot, 'bin/register.js'), '--input-type=module', '-e', script],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1) as string), { tables: 1, loaded: 0 });
});

test('an SQL migration string holding two statements is refused, not run in part', async (t) => {
  const dir = tempProject(t, {
    'two.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'two',
  migrations: [{ name: '0001-two', sql: () => ["CREATE TABLE two_a (id TEXT DEFAULT 'a;b'); CREATE TABLE two_b (id TEXT)"] }],
  setup() {},
});`,
  });
  assert.match(
    await loadError({ plugins: [join(dir, 'two.ts')] }),
    /^APF_PLUGIN_LOAD_FAILED: plugin 'two' failed to migrate its tables: migration two\/0001-two: one statement per string/,
  );
});
