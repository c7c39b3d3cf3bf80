import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { rpc, runApflow, tempProject, testApp, writeFiles } from '../helpers.ts';
import { CREWAI_DEPENDENCIES, installExtension } from '../extensions/install-extension.ts';

const ids = async (app: { tasks: { list(filter: object): Promise<{ id: string }[]> } }) =>
  (await app.tasks.list({ root_only: true, limit: 100 })).map((row) => row.id).sort();

test('examples appear on a fresh database, and not on a second start', async (t) => {
  const dir = tempProject(t);
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  const first = await testApp(t, { database, examples: { auto_init: true } });
  assert.deepEqual(
    await ids(first),
    ['example-rest-health', 'example-system-info'],
    'the CrewAI example needs @apflow/crewai',
  );
  const root = await first.tasks.get('example-system-info');
  assert.equal(root?.user_id, null, 'owned by nobody: every user may run it');
  assert.match(root?.name ?? '', /^Example: /);
  await rpc((await first.listen({ host: '127.0.0.1', port: 0 })).url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.delete',
    params: { task_id: 'example-rest-health' },
  });
  assert.deepEqual(await ids(first), ['example-system-info']);
  await first.close();

  const second = await testApp(t, { database, examples: { auto_init: true } });
  assert.deepEqual(await ids(second), ['example-system-info'], 'the database was not empty: nothing re-created');
});

test('examples.auto_init: false creates nothing', async (t) => {
  const app = await testApp(t, { examples: { auto_init: false } });
  assert.deepEqual(await ids(app), []);
});

test('every example tree runs to completion without any key (the CrewAI one with use_demo)', async (t) => {
  const dir = tempProject(t);
  installExtension(dir, 'crewai', '@apflow/crewai', CREWAI_DEPENDENCIES);
  const app = await testApp(t, { plugins: ['@apflow/crewai'], examples: { auto_init: true } }, { cwd: dir, env: {} });
  assert.deepEqual(await ids(app), ['example-crewai-demo', 'example-rest-health', 'example-system-info']);
  assert.match((await app.tasks.get('example-crewai-demo'))?.name ?? '', /use_demo: true/);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });

  const run = async (taskId: string, demo = false) => {
    const answer = await rpc(url, '/tasks', {
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: { task_id: taskId, ...(demo ? { use_demo: true } : {}) },
    });
    const result = answer.body?.result as { status: string; result: Record<string, unknown> } | undefined;
    assert.equal(result?.status, 'completed', `${taskId}: ${JSON.stringify(answer.body)}`);
    return result.result;
  };
  const info = await run('example-system-info');
  assert.equal(info.result_count, 3);
  const health = await run('example-rest-health');
  assert.equal(health.status_code, 200, 'it called this server, on the port it listens on');
  assert.equal((health.json as { status: string }).status, 'ok');
  const crew = await run('example-crewai-demo', true);
  assert.equal(crew.status, 'success');
  assert.equal(crew.demo_mode, true);
  assert.deepEqual(crew.token_usage, {
    total_tokens: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_prompt_tokens: 0,
    successful_requests: 0,
  });
});

test('apflow examples init: creates them on a fresh database, says they exist on a second run, --force restores them', async (t) => {
  const dir = tempProject(t);
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  writeFiles(dir, { 'apflow.config.json': JSON.stringify({ database, executors: { dirs: [] } }) });

  const first = await runApflow(['examples', 'init'], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^created example-system-info\t/m);
  assert.match(first.stdout, /^created example-rest-health\t/m);
  assert.match(first.stdout, /^skipped example-crewai-demo\t.*@apflow\/crewai extension is not loaded/m);

  const second = await runApflow(['examples', 'init'], { cwd: dir });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /examples already exist: example-system-info, example-rest-health \(use --force/);
  assert.doesNotMatch(second.stdout, /^created/m);

  // Break them: delete one, rename another.
  const app = await testApp(t, { database });
  await app.tasks.delete(['example-rest-health']);
  await app.tasks.update([{ id: 'example-system-info', set: { name: 'changed' } }]);
  await app.close();

  const forced = await runApflow(['examples', 'init', '--force'], { cwd: dir });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^created example-system-info\t/m);
  assert.match(forced.stdout, /^created example-rest-health\t/m);
  const after = await testApp(t, { database });
  assert.deepEqual(await ids(after), ['example-rest-health', 'example-system-info']);
  assert.equal((await after.tasks.get('example-system-info'))?.name, 'Example: system info and aggregation');
  assert.equal((await after.tasks.tree('example-system-info')).length, 4);

  const unknown = await runApflow(['examples', 'list'], { cwd: dir });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown examples action 'list'/);
});
