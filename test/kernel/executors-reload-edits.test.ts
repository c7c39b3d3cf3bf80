import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecutorContext } from 'apflow';
import { started, eventually, memoryLog, tempProject } from '../helpers.ts';
import { executorFile, listeningApp, listExecutors, describe, health, run } from './executors-reload-setup.ts';

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
  const running = started(await app.engine.execute(first.id));
  await eventually(async () => (await app.tasks.get(first.id))?.status === 'in_progress');
  writeFileSync(join(project, 'executors', 'gated.ts'), gated('v2'));
  await eventually(() => app.executor('gated')?.definition.description === 'v2');
  open();
  assert.equal((await running.done).result, 'v1', 'the running task finished on the code it started with');
  const second = await app.engine.createTree([{ name: 'second', schemas: { method: 'gated' } }]);
  assert.equal((await started(await app.engine.execute(second.id)).done).result, 'v2');
});
