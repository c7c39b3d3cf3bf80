import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createApp, defineExecutor, Type, type App, type ExecutorContext, type HealthReport } from 'apflow';
import { eventually, memoryLog, rpc, tempProject, testApp } from '../helpers.ts';

interface ListedExecutor {
  id: string;
  description: string;
  source: string;
}

/** An executor file that describes itself as `description` and returns `result`. */
const executorFile = (id: string, description: string, result: unknown) => `
import { defineExecutor, Type } from 'apflow';
export default defineExecutor({
  id: ${JSON.stringify(id)},
  description: ${JSON.stringify(description)},
  inputSchema: Type.Object({}),
  async execute() {
    return ${JSON.stringify(result)};
  },
});
`;

/** An app watching `dirs`, listening on a free local port. */
async function listeningApp(t: TestContext, dirs: string[], log = memoryLog()) {
  const app = await testApp(t, { executors: { dirs } }, { logStream: log.stream });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, log };
}

/** The executors from executor folders, as `system.executors` lists them (plugins' left out). */
async function listExecutors(url: string): Promise<ListedExecutor[]> {
  const { body } = await rpc(url, '/system', { jsonrpc: '2.0', id: 1, method: 'system.executors' });
  return (body?.result as { executors: ListedExecutor[] }).executors.filter(
    (executor) => executor.source === 'executors folder',
  );
}

async function describe(url: string, id: string): Promise<string | undefined> {
  return (await listExecutors(url)).find((executor) => executor.id === id)?.description;
}

async function health(url: string): Promise<HealthReport> {
  return (await (await fetch(`${url}/health`)).json()) as HealthReport;
}

/** Runs an executor's code directly, as the engine would for a task without inputs. */
async function run(app: App, id: string): Promise<unknown> {
  const entry = app.executor(id);
  assert.ok(entry, `executor '${id}' is registered`);
  return entry.definition.execute({}, {} as ExecutorContext);
}

test('an edited executor file is live for the next task; a task holding the old one finishes on old code', async (t) => {
  const project = tempProject(t, { 'executors/greet.ts': executorFile('greet', 'v1', { v: 1 }) });
  const file = join(project, 'executors', 'greet.ts');
  const { app, url } = await listeningApp(t, [join(project, 'executors')]);

  assert.equal(await describe(url, 'greet'), 'v1');
  assert.equal((await listExecutors(url)).find((executor) => executor.id === 'greet')?.source, 'executors folder');
  assert.deepEqual(await run(app, 'greet'), { v: 1 });
  const running = app.executor('greet');
  assert.ok(running);

  const editedAt = Date.now();
  writeFileSync(file, executorFile('greet', 'v2', { v: 2 }));
  await eventually(async () => (await describe(url, 'greet')) === 'v2');
  t.diagnostic(`edit seen over HTTP after ${Date.now() - editedAt} ms`);

  assert.deepEqual(await run(app, 'greet'), { v: 2 });
  assert.deepEqual(await running.definition.execute({}, {} as ExecutorContext), { v: 1 });
  assert.equal(running.definition.description, 'v1');
  const report = await health(url);
  assert.equal(report.status, 'ok');
  assert.deepEqual(report.reload_errors, []);
});

test('an edit made right after the previous one was loaded is not lost', async (t) => {
  const project = tempProject(t, { 'executors/greet.ts': executorFile('greet', 'v1', { v: 1 }) });
  const file = join(project, 'executors', 'greet.ts');
  const { app } = await listeningApp(t, [join(project, 'executors')]);
  const described = (description: string) => app.executor('greet')?.definition.description === description;

  for (const version of ['v2', 'v3', 'v4']) {
    writeFileSync(file, executorFile('greet', version, version));
    // Polled without pausing, so the next edit lands the moment this one is live.
    const deadline = Date.now() + 5000;
    while (!described(version) && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(described(version), `${version} became live`);
  }
  writeFileSync(file, executorFile('greet', 'v5', 'v5'));
  await eventually(() => described('v5'));
  assert.equal(await run(app, 'greet'), 'v5');
});

test('a file that fails to load keeps the previous version, is logged and shows in /health until fixed', async (t) => {
  const project = tempProject(t, { 'executors/greet.ts': executorFile('greet', 'v1', { v: 1 }) });
  const file = join(project, 'executors', 'greet.ts');
  const log = memoryLog();
  const { app, url } = await listeningApp(t, [join(project, 'executors')], log);

  const expectKept = async (source: string, why: RegExp) => {
    const before = (await health(url)).reload_errors.find((entry) => entry.file === file)?.at;
    writeFileSync(file, source);
    const report = await eventually(async () => {
      const current = await health(url);
      const entry = current.reload_errors.find((error) => error.file === file);
      return entry && entry.at !== before ? current : undefined;
    });
    assert.equal(report?.status, 'degraded');
    const entry = report?.reload_errors.find((error) => error.file === file);
    assert.match(entry?.error ?? '', why);
    assert.equal(await describe(url, 'greet'), 'v1');
    assert.deepEqual(await run(app, 'greet'), { v: 1 });
  };

  await expectKept('export default defineExecutor({ id: "greet", execute() { return 1 ', /./);
  assert.ok(
    log.lines.some((line) => line.level === 50 && line.file === file && String(line.msg).includes('failed to load')),
    `the error is logged:\n${log.text()}`,
  );
  await expectKept(`export default { id: 'greet', description: 'no execute' };`, /execute/);
  await expectKept(executorFile('greet with spaces', 'v9', { v: 9 }), /'id' must be/);
  await expectKept(`export default [];\nundefinedFunction();`, /undefinedFunction/);
  await expectKept(`import { nothing } from './_missing.ts';\nexport default nothing;`, /_missing/);

  writeFileSync(file, executorFile('greet', 'v3', { v: 3 }));
  const fixed = await eventually(async () => {
    const report = await health(url);
    return report.reload_errors.length === 0 ? report : undefined;
  });
  assert.equal(fixed?.status, 'ok');
  assert.equal(await describe(url, 'greet'), 'v3');
  assert.deepEqual(await run(app, 'greet'), { v: 3 });
});

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

test('a task running when its executor file changes finishes on the old code; the next task gets the new one', async (t) => {
  const gated = (version: string) => `
import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'gated',
  description: ${JSON.stringify(version)},
  async execute() {
    const store = globalThis as unknown as { gate?: Promise<void> };
    await store.gate;
    return ${JSON.stringify(version)};
  },
});
`;
  const project = tempProject(t, { 'executors/gated.ts': gated('v1') });
  const { app } = await listeningApp(t, [join(project, 'executors')]);
  let open!: () => void;
  (globalThis as unknown as { gate?: Promise<void> }).gate = new Promise<void>((resolve) => (open = resolve));
  const first = await app.engine.createTree([{ name: 'first', schemas: { method: 'gated' } }]);
  const running = await app.engine.execute(first.id);
  await eventually(async () => (await app.tasks.get(first.id))?.status === 'in_progress');
  writeFileSync(join(project, 'executors', 'gated.ts'), gated('v2'));
  await eventually(() => app.executor('gated')?.definition.description === 'v2');
  open();
  assert.equal((await running.done).result, 'v1', 'the running task finished on the code it started with');
  const second = await app.engine.createTree([{ name: 'second', schemas: { method: 'gated' } }]);
  assert.equal((await (await app.engine.execute(second.id)).done).result, 'v2');
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
