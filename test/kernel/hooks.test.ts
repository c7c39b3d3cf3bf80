import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, repoRoot, started, testApp, tempProject } from '../helpers.ts';
import { createHooks } from '../../kernel/hooks/hooks.ts';
import { createPluginHooks } from '../../kernel/hooks/plugin-view.ts';
import type { TaskRunContext } from 'apflow';

// Plugins that tap the request and auth hooks, checked through real HTTP requests.
const authPlugins = {
  'first.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'first-auth',
  setup(app) {
    app.hooks.request.tapPromise('first-auth', async (req) => { req.state.order = ['request:first']; });
    app.hooks.auth.tapPromise({ name: 'first-auth', stage: -10 }, async (req) => {
      (req.state.order as string[]).push('auth:first');
      if (req.headers['x-reject']) throw new Error('rejected by first-auth');
      const user = req.headers['x-user'];
      return typeof user === 'string' ? { user_id: user, roles: [] } : undefined;
    });
    app.http.get('/whoami', async (request) => ({ principal: request.apflow.principal ?? null, order: request.apflow.state.order }));
  },
});`,
  'second.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'second-auth',
  setup(app) {
    app.hooks.auth.tapPromise('second-auth', async (req) => {
      (req.state.order as string[]).push('auth:second');
      return { user_id: 'fallback', roles: ['guest'] };
    });
  },
});`,
};

test('auth is a bail hook: the first principal wins, later taps are skipped; a throw rejects the request', async (t) => {
  const dir = tempProject(t, authPlugins);
  // second-auth is listed first, but first-auth's stage -10 runs it earlier.
  const app = await testApp(t, { plugins: [join(dir, 'second.ts'), join(dir, 'first.ts')] });

  const named = await app.inject({ url: '/whoami', headers: { 'x-user': 'alice' } });
  assert.deepEqual(named.json(), {
    principal: { user_id: 'alice', roles: [] },
    order: ['request:first', 'auth:first'],
  });

  const anonymous = await app.inject({ url: '/whoami' });
  assert.deepEqual(anonymous.json(), {
    principal: { user_id: 'fallback', roles: ['guest'] },
    order: ['request:first', 'auth:first', 'auth:second'],
  });

  const rejected = await app.inject({
    method: 'POST',
    url: '/system',
    headers: { 'x-reject': '1' },
    payload: { jsonrpc: '2.0', id: 1, method: 'system.health' },
  });
  assert.equal(rejected.statusCode, 200, 'JSON-RPC errors other than 401/413/429/503 travel on HTTP 200');
  assert.equal(rejected.json().error.code, -32603, 'a plain Error from an auth tap is an internal error');
  assert.match(rejected.json().error.data.request_id, /^req-/);
  assert.doesNotMatch(rejected.body, /rejected by first-auth/, 'internal error text stays in the logs');
});

test('an auth tap throwing APF_UNAUTHENTICATED answers 401 with a JSON-RPC body on RPC routes', async (t) => {
  const dir = tempProject(t, {
    'deny.ts': `import { definePlugin, ApflowError } from 'apflow';
export default definePlugin({
  name: 'deny',
  setup(app) {
    app.hooks.auth.tapPromise('deny', async () => { throw new ApflowError('APF_UNAUTHENTICATED', { message: 'Missing Authorization header' }); });
  },
});`,
  });
  const app = await testApp(t, { plugins: [join(dir, 'deny.ts')] });
  const response = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 7, method: 'system.health' },
  });
  assert.equal(response.statusCode, 401);
  assert.equal(response.headers['www-authenticate'], 'Bearer');
  assert.deepEqual(response.json(), {
    jsonrpc: '2.0',
    id: null,
    error: { code: -32001, message: 'Missing Authorization header' },
  });
  const a2a = await app.inject({
    method: 'POST',
    url: '/',
    headers: { 'a2a-version': '1.0' },
    payload: { jsonrpc: '2.0', id: 8, method: 'GetTask', params: { id: 'x' } },
  });
  assert.equal(a2a.statusCode, 401, 'A2A calls are refused at the HTTP level too');
  assert.equal(a2a.headers['www-authenticate'], 'Bearer');
  const rest = await app.inject({ url: '/health' });
  assert.equal(rest.statusCode, 401);
  assert.deepEqual(rest.json(), { error: { code: 'APF_UNAUTHENTICATED', message: 'Missing Authorization header' } });
});

test('taskRun is a waterfall: each tap sees and returns the run context, in stage order', async () => {
  const hooks = createHooks();
  const a = createPluginHooks(hooks, 'a');
  const b = createPluginHooks(hooks, 'b');
  b.taskRun.tapPromise({ name: 'b', stage: 10 }, async (run) => ({
    ...run,
    inputs: { ...run.inputs, b: (run.inputs.a as number) + 1 },
  }));
  a.taskRun.tapPromise('a', async (run) => ({ ...run, inputs: { ...run.inputs, a: 1 } }));
  const start: TaskRunContext = {
    phase: 'before',
    task_id: 't',
    root_task_id: 't',
    user_id: null,
    executor_id: 'x',
    inputs: {},
    state: {},
  };
  const out = await hooks.taskRun.promise(start);
  assert.deepEqual(out.inputs, { a: 1, b: 2 });
});

test('taskRan tells observers how each executor run ended: outcome, executor and time, never a run cut short', async (t) => {
  const dir = tempProject(t, {
    'observer.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'observer',
  setup(app) {
    const told = ((globalThis as Record<string, unknown>).taskRanTold ??= []) as unknown[];
    app.hooks.taskRan.intercept({ call: (ran) => void told.push(ran) });
  },
});`,
  });
  const told: Record<string, unknown>[] = [];
  (globalThis as Record<string, unknown>).taskRanTold = told;
  t.after(() => delete (globalThis as Record<string, unknown>).taskRanTold);
  const fixtures = join(repoRoot, 'test', 'fixtures');
  const app = await testApp(t, {
    plugins: [join(dir, 'observer.ts')],
    executors: { dirs: [join(fixtures, 'executors'), join(fixtures, 'durable-executors')] },
  });
  const run = async (id: string, method: string, inputs: Record<string, unknown> = {}) => {
    await app.engine.createTree([{ id, name: id, schemas: { method }, inputs }]);
    return started(await app.engine.execute(id));
  };
  assert.equal((await (await run('ok', 'noop')).done).status, 'completed');
  assert.equal((await (await run('bad', 'fail')).done).status, 'failed');
  assert.equal((await (await run('nap', 'nap', { s: 0.05, log: join(dir, 'nap.log') })).done).status, 'completed');
  const hanging = await run('cut', 'hang');
  await eventually(() => app.engine.runningCount() === 1);
  await app.engine.cancel(['cut']);
  assert.equal((await hanging.done).status, 'cancelled');
  await eventually(() => app.engine.runningCount() === 0);

  const seen = told.map((ran) => [ran.task_id, ran.executor_id, ran.outcome]);
  assert.deepEqual(seen, [
    ['ok', 'noop', 'completed'],
    ['bad', 'fail', 'failed'],
    ['nap', 'nap', 'suspended'],
    ['nap', 'nap', 'completed'],
  ]);
  for (const ran of told) {
    assert.equal(ran.root_task_id, ran.task_id);
    assert.equal(ran.user_id, null);
    assert.ok(typeof ran.seconds === 'number' && ran.seconds >= 0 && ran.seconds < 10, String(ran.seconds));
  }
});

test('keyResolve asks taps by stage and stops at the first key', async () => {
  const hooks = createHooks();
  const asked: string[] = [];
  createPluginHooks(hooks, 'env').keyResolve.tapPromise({ name: 'env', stage: 100 }, async () => {
    asked.push('env');
    return 'env-key';
  });
  createPluginHooks(hooks, 'header').keyResolve.tapPromise({ name: 'header', stage: -100 }, async (request) => {
    asked.push('header');
    return request.provider === 'openai' ? 'header-key' : undefined;
  });
  assert.equal(await hooks.keyResolve.promise({ provider: 'openai', user_id: null }), 'header-key');
  assert.deepEqual(asked, ['header']);
  assert.equal(await hooks.keyResolve.promise({ provider: 'anthropic', user_id: null }), 'env-key');
  assert.deepEqual(asked, ['header', 'header', 'env']);
});

test('progress is a sync fan-out; interceptors observe calls without kernel edits', () => {
  const hooks = createHooks();
  const seen: string[] = [];
  const observed: string[] = [];
  const view = createPluginHooks(hooks, 'metrics');
  view.progress.tap('metrics', (event) => seen.push(event.type));
  view.progress.intercept({ call: (event) => observed.push(`${event.type}#${event.seq}`) });
  hooks.progress.call({
    type: 'task_start',
    task_id: 't',
    root_task_id: 't',
    status: 'in_progress',
    progress: 0,
    timestamp: '',
    seq: 1,
  });
  assert.deepEqual(seen, ['task_start']);
  assert.deepEqual(observed, ['task_start#1']);
});

test('the plugin view is tap-only and insists on the plugin name', () => {
  const hooks = createHooks();
  const view = createPluginHooks(hooks, 'mine');
  for (const hook of Object.values(view)) {
    assert.equal((hook as Record<string, unknown>).call, undefined);
    assert.equal((hook as Record<string, unknown>).promise, undefined);
    assert.equal((hook as Record<string, unknown>).callAsync, undefined);
  }
  assert.throws(
    () => view.progress.tap('someone-else', () => undefined),
    /plugin 'mine' tapped hook 'progress' as 'someone-else'/,
  );
  assert.throws(() => view.auth.tapPromise({ name: 'x' }, async () => undefined), /taps must use the plugin's name/);
  assert.ok(Object.isFrozen(view));
  assert.deepEqual(Object.keys(view).sort(), [
    'auth',
    'keyResolve',
    'progress',
    'request',
    'runStart',
    'taskRan',
    'taskRun',
    'usage',
  ]);
});
