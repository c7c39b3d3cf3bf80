import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { eventually, memoryLog, tempProject } from '../helpers.ts';
import { executorFile, listeningApp, listExecutors, health, run } from './executors-reload-setup.ts';

test('executor dirs in a config file are relative to its folder, not the working directory', async (t) => {
  const project = tempProject(t, {
    'apflow.config.json': JSON.stringify({
      database: { url: 'sqlite::memory:' },
      executors: { dirs: ['./my-executors'] },
    }),
    'my-executors/mine.ts': executorFile('mine', 'from the config folder', 1),
    'executors/other.ts': executorFile('other', 'not configured', 2),
  });
  const elsewhere = mkdtempSync(join(tmpdir(), 'apflow-cwd-'));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const app = await createApp({
    env: {},
    cwd: elsewhere,
    cli: { config: join(project, 'apflow.config.json') },
    logStream: memoryLog().stream,
  });
  t.after(() => app.close());
  assert.deepEqual(app.config.executors.dirs, [join(project, 'my-executors')]);
  assert.equal(app.executor('mine')?.definition.description, 'from the config folder');
  assert.equal(app.executor('other'), undefined);

  writeFileSync(join(project, 'my-executors', 'mine.ts'), executorFile('mine', 'edited', 1));
  await eventually(() => app.executor('mine')?.definition.description === 'edited');
});

test('without a config file, the default executors folder is ./executors of the working directory', async (t) => {
  const project = tempProject(t, { 'executors/here.ts': executorFile('here', 'cwd folder', 1) });
  const app = await createApp({
    env: { APFLOW_DATABASE_URL: 'sqlite::memory:' },
    cwd: project,
    logStream: memoryLog().stream,
  });
  t.after(() => app.close());
  assert.deepEqual(app.config.executors.dirs, [join(project, 'executors')]);
  assert.equal(app.executor('here')?.definition.description, 'cwd folder');
});

test('executor folders that do not exist at start are picked up once created', async (t) => {
  const project = tempProject(t);
  const shallow = join(project, 'later');
  const deep = join(project, 'not', 'yet', 'there');
  const { app, url } = await listeningApp(t, [shallow, deep]);
  assert.deepEqual(await listExecutors(url), []);
  assert.equal((await health(url)).status, 'ok');

  mkdirSync(shallow);
  writeFileSync(join(shallow, 'a.ts'), executorFile('a', 'shallow', 1));
  await eventually(() => app.executor('a'));

  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'b.ts'), executorFile('b', 'deep', 2));
  await eventually(() => app.executor('b'));
  assert.equal(await run(app, 'b'), 2);

  writeFileSync(join(deep, 'b.ts'), executorFile('b', 'deep, edited', 3));
  await eventually(() => app.executor('b')?.definition.description === 'deep, edited');

  rmSync(join(project, 'not'), { recursive: true });
  await eventually(() => app.executor('b') === undefined);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'b.ts'), executorFile('b', 'back', 4));
  await eventually(() => app.executor('b')?.definition.description === 'back');
});

test('executor files outside an ES-module package (CommonJS scope) reload too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-cjs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plain.ts');
  const plain = (n: number) =>
    `const answer: number = ${n};\nexport default { id: 'plain', description: 'v${n}', execute: () => answer };\n`;
  writeFileSync(file, plain(1));
  const { app } = await listeningApp(t, [dir]);
  assert.equal(app.executor('plain')?.definition.description, 'v1');
  writeFileSync(file, plain(2));
  await eventually(() => app.executor('plain')?.definition.description === 'v2');
  assert.equal(await run(app, 'plain'), 2);
});
