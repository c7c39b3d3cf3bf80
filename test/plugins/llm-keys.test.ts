import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createApp, type App } from 'apflow';
import { httpReceiver, memoryLog, rpc, tempProject } from '../helpers.ts';

// An executor like an LLM client: it asks for a key and sends it where a provider would see it.
// It returns only whether it had one: the key must never be in a result.
const probe = `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'key_probe',
  async execute(inputs, ctx) {
    if (inputs.wait_ms) await new Promise((resolve, reject) => { const timer = setTimeout(resolve, inputs.wait_ms); ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')); }); });
    const key = await ctx.resolveKey(inputs.provider, inputs.model);
    if (!key) throw new Error(\`No API key for provider \${inputs.provider ?? 'of ' + inputs.model}: send X-LLM-API-KEY, set one with config.llm_key.set, or set the environment variable\`);
    if (inputs.leak === 'error') throw new Error(\`401 from the provider: Incorrect API key provided: \${key}\`);
    if (inputs.leak === 'result') return { careless: \`the key was \${key}\`, nested: [key] };
    await fetch(inputs.receiver, { method: 'POST', headers: { authorization: \`Bearer \${key}\`, 'content-type': 'application/json' }, body: JSON.stringify({ task: ctx.task_id }) });
    return { had_key: true };
  },
});`;

/** A task that asks for a key (for `provider`, or detected from `model`) and shows it to `receiver`. */
const probeTask = (receiver: string, inputs: Record<string, unknown>) => ({
  name: 'probe',
  schemas: { method: 'key_probe' },
  inputs: { receiver, ...inputs },
});

async function keyApp(t: TestContext, env: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  const dir = tempProject(t, { 'executors/probe.ts': probe });
  const log = memoryLog();
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  const app = await createApp({
    env,
    logStream: log.stream,
    inline: { database, executors: { dirs: [join(dir, 'executors')] }, log: { level: 'debug' }, ...extra },
  });
  t.after(() => app.close());
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, dir, log };
}

/** Runs a tree through `tasks.execute` with `headers`; answers the JSON-RPC result. */
async function execute(url: string, tasks: unknown[], headers: Record<string, string> = {}) {
  const answer = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { tasks } },
    headers,
  );
  return answer.body as { result: { status: string; error?: string; root_task_id: string } };
}

const seen = (receiver: { hits: { headers: Record<string, unknown> }[] }) =>
  receiver.hits.map((hit) => String(hit.headers.authorization).replace('Bearer ', ''));

test('X-LLM-API-KEY: the simple form for any provider, the provider form for its provider only; otherwise the environment; none is a clear error', async (t) => {
  const receiver = await httpReceiver(t);
  const { url } = await keyApp(t, { OPENAI_API_KEY: 'sk-env-openai', ANTHROPIC_API_KEY: 'sk-env-anthropic' });

  assert.equal(
    (await execute(url, [probeTask(receiver.url, { model: 'openai/gpt-4o' })], { 'x-llm-api-key': 'sk-header-simple' }))
      .result.status,
    'completed',
  );
  assert.equal(
    (
      await execute(url, [probeTask(receiver.url, { model: 'claude-3-5-sonnet' })], {
        'x-llm-api-key': 'anthropic:sk-ant-header',
      })
    ).result.status,
    'completed',
  );
  assert.equal(
    (
      await execute(url, [probeTask(receiver.url, { provider: 'openai' })], {
        'x-llm-api-key': 'anthropic:sk-ant-header',
      })
    ).result.status,
    'completed',
  );
  assert.equal((await execute(url, [probeTask(receiver.url, { model: 'gpt-4o-mini' })])).result.status, 'completed');
  assert.deepEqual(
    seen(receiver),
    ['sk-header-simple', 'sk-ant-header', 'sk-env-openai', 'sk-env-openai'],
    'header first; a provider-form key only for its provider; then the environment',
  );

  const none = await execute(url, [probeTask(receiver.url, { model: 'mistral/mistral-large' })]);
  assert.equal(none.result.status, 'failed');
  assert.match(none.result.error ?? '', /No API key for provider/);
  assert.equal(receiver.hits.length, 4, 'nothing was sent without a key');
});

test('the header key reaches only the trees its request created or started, including a tree created with tasks.create and run later', async (t) => {
  const receiver = await httpReceiver(t);
  const { url } = await keyApp(t);
  const created = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: { tasks: [probeTask(receiver.url, { model: 'gpt-4' })] } },
    { 'x-llm-api-key': 'sk-from-create' },
  );
  const rootId = (created.body as { result: { id: string } }).result.id;
  const ran = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 2, method: 'tasks.execute', params: { task_id: rootId } });
  assert.equal(
    (ran.body as { result: { status: string } }).result.status,
    'completed',
    "the guide's example: the header on tasks.create",
  );
  const other = await execute(url, [probeTask(receiver.url, { model: 'gpt-4' })]);
  assert.equal(other.result.status, 'failed', "another request's tree does not get the key");
  assert.deepEqual(seen(receiver), ['sk-from-create']);
});

test('priority through keyResolve: header (stage -100) before per-user config (stage 0) before the environment (stage 100)', async (t) => {
  const receiver = await httpReceiver(t);
  const plugins = tempProject(t, {
    'user-config.ts': `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'user-config', setup(app) { app.hooks.keyResolve.tapPromise({ name: 'user-config', stage: 0 }, async (request) => (request.user_id === 'ann' ? 'sk-config-ann' : undefined)); } });`,
  });
  const { app, url } = await keyApp(t, { OPENAI_API_KEY: 'sk-env' }, { plugins: [join(plugins, 'user-config.ts')] });
  const run = async (userId: string | null, headers: Record<string, string>) => {
    const tree = await app.engine.createTree([{ ...probeTask(receiver.url, { provider: 'openai' }), user_id: userId }]);
    const headersTree = await rpc(
      url,
      '/tasks',
      { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { task_id: tree.id } },
      headers,
    );
    return (headersTree.body as { result: { status: string } }).result.status;
  };
  assert.equal(await run('ann', { 'x-llm-api-key': 'sk-header' }), 'completed');
  assert.equal(await run('ann', {}), 'completed');
  assert.equal(await run('bob', {}), 'completed');
  assert.deepEqual(seen(receiver), ['sk-header', 'sk-config-ann', 'sk-env']);
});

test('the header key never reaches the database, the log, events or results; after a restart mid-run the task fails with "key no longer available"', async (t) => {
  const receiver = await httpReceiver(t);
  const secret = `sk-never-stored-${crypto.randomUUID()}`;
  const dir = tempProject(t, { 'executors/probe.ts': probe });
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  const log = memoryLog();
  const start = () =>
    createApp({
      env: {},
      logStream: log.stream,
      inline: {
        database,
        server: { shutdown_timeout_s: 0 },
        executors: { dirs: [join(dir, 'executors')] },
        log: { level: 'debug' },
      },
    });
  let app: App = await start();
  let { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const done = await execute(url, [probeTask(receiver.url, { model: 'gpt-4o' })], {
    'x-llm-api-key': `openai:${secret}`,
  });
  assert.equal(done.result.status, 'completed');
  assert.deepEqual(seen(receiver), [secret]);

  // A tree that asks for the key only after a while: stop the server before it does.
  const waiting = await rpc(
    url,
    '/tasks',
    {
      jsonrpc: '2.0',
      id: 3,
      method: 'tasks.create',
      params: { tasks: [probeTask(receiver.url, { model: 'gpt-4o', wait_ms: 1500 })] },
    },
    { 'x-llm-api-key': secret },
  );
  const rootId = (waiting.body as { result: { id: string } }).result.id;
  // Run it (the key came with tasks.create); the answer never comes: the server stops first.
  void rpc(url, '/tasks', { jsonrpc: '2.0', id: 4, method: 'tasks.execute', params: { task_id: rootId } }).catch(
    () => undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 400));
  await app.close();
  app = await start();
  t.after(() => app.close());
  ({ url } = await app.listen({ host: '127.0.0.1', port: 0 }));
  let task: { status: string; error: string | null } | null = null;
  for (let i = 0; i < 100 && task?.status !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    task = await app.tasks.get(rootId);
  }
  assert.equal(task?.status, 'failed');
  assert.match(task?.error ?? '', /no longer available \(the server restarted while the tree ran\)/);
  assert.equal(receiver.hits.length, 1, 'the restarted task sent nothing');

  await app.close();
  const stored =
    readFileSync(join(dir, 'db.sqlite')).toString('latin1') +
    readFileSync(join(dir, 'db.sqlite-wal'), { flag: 'a+' }).toString('latin1');
  assert.equal(stored.includes(secret), false, 'not in the database');
  assert.equal(log.text().includes(secret), false, 'not in the log (debug level)');
});

test('a header without a value, or with an empty key, is ignored', async (t) => {
  const receiver = await httpReceiver(t);
  const { url } = await keyApp(t, { OPENAI_API_KEY: 'sk-env' });
  assert.equal(
    (await execute(url, [probeTask(receiver.url, { provider: 'openai' })], { 'x-llm-api-key': '   ' })).result.status,
    'completed',
  );
  assert.equal(
    (await execute(url, [probeTask(receiver.url, { provider: 'openai' })], { 'x-llm-api-key': 'openai:' })).result
      .status,
    'completed',
  );
  assert.deepEqual(
    seen(receiver),
    ['sk-env', 'openai:'],
    "'openai:' is not the provider form (no key), so it is a simple-form key",
  );
});

test('keys an executor lets slip into its error or result are scrubbed before they are stored (header and environment keys)', async (t) => {
  const receiver = await httpReceiver(t);
  const { app, url } = await keyApp(t, { OPENAI_API_KEY: 'sk-env-key-0123456789' });
  const failed = await execute(url, [probeTask(receiver.url, { model: 'gpt-4o', leak: 'error' })], {
    'x-llm-api-key': 'sk-header-key-9876543210',
  });
  assert.equal(failed.result.status, 'failed');
  assert.equal(
    (await app.tasks.get(failed.result.root_task_id))?.error,
    '401 from the provider: Incorrect API key provided: ***',
  );
  const careless = await execute(url, [probeTask(receiver.url, { model: 'gpt-4o', leak: 'result' })]);
  assert.deepEqual((await app.tasks.get(careless.result.root_task_id))?.result, {
    careless: 'the key was ***',
    nested: ['***'],
  });
  const events = JSON.stringify([
    ...(await app.tasks.events(failed.result.root_task_id)),
    ...(await app.tasks.events(careless.result.root_task_id)),
  ]);
  assert.ok(!events.includes('sk-header-key') && !events.includes('sk-env-key'), 'nor in the events');
});
