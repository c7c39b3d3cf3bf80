import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defineExecutor, Type } from 'apflow';
import { eventually, tempProject } from '../helpers.ts';
import { executorFile, listeningApp, listExecutors, describe, health, run } from './executors-reload-setup.ts';

test('a broken file present at start is reported, and its executors appear once it is fixed', async (t) => {
  const project = tempProject(t, {
    'executors/good.ts': executorFile('good', 'good', 1),
    'executors/bad.ts': 'export default {',
  });
  const { url } = await listeningApp(t, [join(project, 'executors')]);
  const report = await health(url);
  assert.equal(report.status, 'degraded');
  assert.deepEqual(
    report.reload_errors.map((entry) => entry.file),
    [join(project, 'executors', 'bad.ts')],
  );
  assert.equal(await describe(url, 'good'), 'good');

  writeFileSync(join(project, 'executors', 'bad.ts'), executorFile('bad', 'fixed', 2));
  await eventually(async () => (await describe(url, 'bad')) === 'fixed');
  assert.equal((await health(url)).status, 'ok');
});

test('an added file brings its executors in; a deleted file takes them out', async (t) => {
  const project = tempProject(t, { 'executors/one.ts': executorFile('one', 'one', 1) });
  const dir = join(project, 'executors');
  const { app, url } = await listeningApp(t, [dir]);
  const fromPlugins = (await health(url)).executors - 1;
  const counted = async (folders: number) => (await health(url)).executors === fromPlugins + folders;

  writeFileSync(
    join(dir, 'pair.ts'),
    `import { defineExecutor } from 'apflow';
export default [
  defineExecutor({ id: 'two', description: 'two', execute: () => 2 }),
  defineExecutor({ id: 'three', description: 'three', execute: () => 3 }),
];`,
  );
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'four.ts'), executorFile('four', 'four', 4));
  await eventually(() => counted(4));
  assert.deepEqual((await listExecutors(url)).map((executor) => executor.id).sort(), ['four', 'one', 'three', 'two']);
  assert.equal(await run(app, 'three'), 3);

  rmSync(join(dir, 'pair.ts'));
  await eventually(() => counted(2));
  assert.equal(app.executor('two'), undefined);
  assert.deepEqual((await listExecutors(url)).map((executor) => executor.id).sort(), ['four', 'one']);

  rmSync(join(dir, 'nested'), { recursive: true });
  await eventually(() => counted(1));
  assert.equal(app.executor('four'), undefined);

  rmSync(dir, { recursive: true });
  await eventually(() => counted(0));
  mkdirSync(dir);
  writeFileSync(join(dir, 'five.ts'), executorFile('five', 'five', 5));
  await eventually(() => app.executor('five'));
});

test('files starting with _ are helpers: reloading an executor re-reads its local imports, but not apflow', async (t) => {
  const project = tempProject(t, {
    'executors/_helper.ts': `export const greeting = 'hello';`,
    'executors/greet.ts': `
import { defineExecutor, Type } from 'apflow';
import { greeting } from './_helper.ts';
export default defineExecutor({
  id: 'greet',
  execute: () => ({ greeting, defineExecutor, Type }),
});`,
  });
  const dir = join(project, 'executors');
  const { app, url } = await listeningApp(t, [dir]);
  assert.deepEqual(
    (await listExecutors(url)).map((executor) => executor.id),
    ['greet'],
    '_helper.ts is not an executor',
  );
  assert.equal((await health(url)).status, 'ok');

  const first = (await run(app, 'greet')) as { greeting: string; defineExecutor: unknown; Type: unknown };
  assert.equal(first.greeting, 'hello');
  assert.equal(first.defineExecutor, defineExecutor, 'the executor file shares the kernel the server runs');
  assert.equal(first.Type, Type, 'and the same TypeBox');

  const loaded = app.executor('greet');
  writeFileSync(join(dir, '_helper.ts'), `export const greeting = 'bonjour';`);
  writeFileSync(join(dir, 'greet.ts'), `${readFileSync(join(dir, 'greet.ts'), 'utf8')}\n// touched\n`);
  await eventually(() => app.executor('greet') !== loaded);

  const second = (await run(app, 'greet')) as { greeting: string; defineExecutor: unknown; Type: unknown };
  assert.equal(second.greeting, 'bonjour', 'the helper was read again');
  assert.equal(second.defineExecutor, defineExecutor, 'a reloaded file still shares the kernel');
  assert.equal(second.Type, Type);
});

test('a package linked into node_modules (a workspace, npm link) is shared by reloads, not imported again', async (t) => {
  const project = tempProject(t, {
    'packages/counter/package.json': JSON.stringify({ name: 'counter', type: 'module', exports: './index.ts' }),
    'packages/counter/index.ts': `export const state = { loads: 0 };\nstate.loads++;`,
    'executors/count.ts': `
import { defineExecutor } from 'apflow';
import { state } from 'counter';
export default defineExecutor({ id: 'count', description: 'v1', execute: () => state });`,
  });
  symlinkSync(join(project, 'packages', 'counter'), join(project, 'node_modules', 'counter'), 'dir');
  const dir = join(project, 'executors');
  const { app } = await listeningApp(t, [dir]);
  const before = await run(app, 'count');

  writeFileSync(join(dir, 'count.ts'), readFileSync(join(dir, 'count.ts'), 'utf8').replace("'v1'", "'v2'"));
  await eventually(() => app.executor('count')?.definition.description === 'v2');
  const after = await run(app, 'count');
  assert.equal(after, before, 'the same module instance');
  assert.deepEqual(after, { loads: 1 });
});

test('tests beside an executor (x.test.ts, x.spec.js) are not loaded as executors, at start or when added', async (t) => {
  const project = tempProject(t, {
    'executors/hello.ts': executorFile('hello', 'hello', 1),
    'executors/hello.test.ts': "import { test } from 'node:test';\ntest('x', () => {});\n",
  });
  const dir = join(project, 'executors');
  const { url } = await listeningApp(t, [dir]);
  writeFileSync(join(dir, 'hello.spec.js'), 'export default 42;\n');
  writeFileSync(join(dir, 'later.ts'), executorFile('later', 'later', 1));
  await eventually(async () => (await describe(url, 'later')) === 'later');
  assert.deepEqual((await listExecutors(url)).map((executor) => executor.id).sort(), ['hello', 'later']);
  assert.deepEqual((await health(url)).reload_errors, []);
});
