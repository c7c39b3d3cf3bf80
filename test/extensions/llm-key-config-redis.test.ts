import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { eventually, freePort, httpReceiver, rpc, testApp } from '../helpers.ts';
import {
  assertNoKeys,
  keyProbeExecutor,
  ok,
  PACKAGE,
  probe,
  projectWithExtension,
  system,
} from './llm-key-config-fixtures.ts';

/**
 * @apflow/llm-key-config's Redis store against a real redis-server (.ci/run starts one and sets
 * APFLOW_TEST_REDIS_URL; `eval "$(bash scripts/redis.sh start)"` does it locally): two servers
 * share the keys, values are sealed at rest, and the plugin refuses unsafe or unreachable setups.
 */

const redisUrl = process.env.APFLOW_TEST_REDIS_URL;
if (!redisUrl && process.env.CI)
  throw new Error('CI must set APFLOW_TEST_REDIS_URL so the Redis tests run (scripts/redis.sh start)');
const skip = redisUrl ? false : 'APFLOW_TEST_REDIS_URL is not set (eval "$(bash scripts/redis.sh start)")';

const SECRET = 'llm-key-config-redis-secret-0123456789abcdef';
const OTHER_SECRET = 'llm-key-config-other-secret-0123456789abcdef';

/** A raw client for looking at what the store wrote, and a fresh key prefix removed after the test. */
function rawRedis(t: TestContext) {
  const raw = new Redis(redisUrl as string, { lazyConnect: true });
  const prefix = `apflow-test:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  });
  /** Every value under the prefix, with its Redis key and field. */
  const dump = async () => {
    const values: { key: string; field: string; value: string }[] = [];
    for (const key of await raw.keys(`${prefix}*`)) {
      for (const [field, value] of Object.entries(await raw.hgetall(key))) values.push({ key, field, value });
    }
    return values;
  };
  return { raw, prefix, dump };
}

const redisPlugin = (prefix: string, options: Record<string, unknown> = {}) => ({
  name: PACKAGE,
  options: { store: 'redis', redis_url: redisUrl, key_prefix: prefix, ...options },
});

test(
  'two servers share one Redis store: a key set on one is used and deleted on the other, and is sealed at rest',
  { skip },
  async (t) => {
    const { raw, prefix, dump } = rawRedis(t);
    const dir = projectWithExtension(t, { 'executors/key-probe.ts': keyProbeExecutor });
    const inline = (options: Record<string, unknown> = {}) => ({
      plugins: [redisPlugin(prefix, options)],
      executors: { dirs: [join(dir, 'executors')] },
    });
    // One takes the secret from the environment, the other from its options.
    const one = await testApp(t, inline(), { cwd: dir, env: { APFLOW_LLM_KEY_SECRET: SECRET } });
    const two = await testApp(t, inline({ encryption_key: SECRET }), { cwd: dir });
    const urlOne = (await one.listen({ host: '127.0.0.1', port: 0 })).url;
    const urlTwo = (await two.listen({ host: '127.0.0.1', port: 0 })).url;
    const DAVE_OPENAI = 'sk-dave-openai-redis-llllllllllll';
    const DAVE_DEFAULT = 'sk-dave-default-redis-mmmmmmmmmmm';

    ok(
      await system(urlOne, 'config.llm_key.set', { user_id: 'dave', provider: 'openai', api_key: DAVE_OPENAI }),
      'set on one',
    );
    ok(await system(urlOne, 'config.llm_key.set', { user_id: 'dave', api_key: DAVE_DEFAULT }), 'set default on one');
    assert.deepEqual(
      ok(await system(urlTwo, 'config.llm_key.get', { user_id: 'dave', provider: 'openai' }), 'get on two'),
      {
        has_key: true,
        user_id: 'dave',
        provider: 'openai',
        providers: { default: '***', openai: '***' },
      },
    );
    const receiver = await httpReceiver(t);
    const run = await probe(urlTwo, receiver.url, { user_id: 'dave' });
    assert.deepEqual(run.answer.result, { found: true });
    assert.equal(
      receiver.hits.at(-1)?.headers.authorization,
      `Bearer ${DAVE_OPENAI}`,
      "server two ran dave's task with the key set on server one",
    );
    assertNoKeys(run.text, [DAVE_OPENAI, DAVE_DEFAULT], 'the run answer');

    // At rest: one hash per user under the prefix, a field per provider, nothing readable.
    const stored = await dump();
    assert.deepEqual(stored.map((entry) => `${entry.key}#${entry.field}`).sort(), [
      `${prefix}dave#default`,
      `${prefix}dave#openai`,
    ]);
    for (const { value } of stored) {
      assert.match(value, /^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/, 'an AES-GCM envelope');
      assertNoKeys(
        value,
        [
          DAVE_OPENAI,
          DAVE_DEFAULT,
          Buffer.from(DAVE_OPENAI).toString('base64').slice(0, 20),
          Buffer.from(DAVE_DEFAULT).toString('base64').slice(0, 20),
        ],
        'a Redis value',
      );
    }
    // A value copied to another user (or provider) does not open there: the user and provider are bound in.
    await raw.hset(`${prefix}erin`, 'openai', stored.find((entry) => entry.field === 'openai')?.value as string);
    assert.equal(
      ok(await system(urlOne, 'config.llm_key.get', { user_id: 'erin', provider: 'openai' }), 'erin').has_key,
      false,
    );

    // A server with another secret reads the values as absent (and never as garbage keys).
    const stranger = await testApp(t, inline({ encryption_key: OTHER_SECRET }), { cwd: dir });
    const strangerUrl = (await stranger.listen({ host: '127.0.0.1', port: 0 })).url;
    assert.equal(
      ok(await system(strangerUrl, 'config.llm_key.get', { user_id: 'dave', provider: 'openai' }), 'other secret')
        .has_key,
      false,
    );
    assert.deepEqual((await probe(strangerUrl, receiver.url, { user_id: 'dave' })).answer.result, { found: false });
    assert.equal(receiver.hits.length, 1, 'no key was sent');

    assert.deepEqual(ok(await system(urlTwo, 'config.llm_key.delete', { user_id: 'dave' }), 'delete all on two'), {
      success: true,
      user_id: 'dave',
      deleted: true,
      provider: 'all',
    });
    assert.deepEqual(ok(await system(urlOne, 'config.llm_key.get', { user_id: 'dave' }), 'gone on one').providers, {});
    assert.equal(await raw.exists(`${prefix}dave`), 0);
  },
);

test('closing a server closes its Redis connection', { skip }, async (t) => {
  const { raw, prefix } = rawRedis(t);
  const ours = async () =>
    ((await raw.client('LIST')) as string).split('\n').filter((line) => line.includes('name=apflow-llm-key-config'))
      .length;
  const before = await ours();
  const app = await testApp(
    t,
    { plugins: [redisPlugin(prefix, { encryption_key: SECRET })] },
    { cwd: projectWithExtension(t) },
  );
  assert.equal(await ours(), before + 1, 'one connection while running');
  await app.close();
  await eventually(async () => (await ours()) === before);
});

test(
  'while Redis is away: set fails with APF_UNAVAILABLE, get finds nothing, a run fails rather than take another key; all recover',
  { skip },
  async (t) => {
    // A private redis-server (the one scripts/redis.sh installed) that this test may stop.
    const port = await freePort();
    const start = () => {
      const child = spawn(
        'redis-server',
        ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      t.after(() => void child.kill('SIGKILL'));
      return child;
    };
    let server = start();
    const privateUrl = `redis://127.0.0.1:${port}/0`;
    const probeClient = new Redis(privateUrl, { lazyConnect: true, retryStrategy: () => 50 });
    probeClient.on('error', () => undefined);
    t.after(() => probeClient.disconnect());
    await eventually(async () => (await probeClient.ping()) === 'PONG');
    const dir = projectWithExtension(t, { 'executors/key-probe.ts': keyProbeExecutor });
    const app = await testApp(
      t,
      {
        plugins: [{ name: PACKAGE, options: { store: 'redis', redis_url: privateUrl, encryption_key: SECRET } }],
        executors: { dirs: [join(dir, 'executors')] },
      },
      { cwd: dir, env: { OPENAI_API_KEY: 'sk-env-must-not-be-used-oooooooo' } },
    );
    const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
    const KEY = 'sk-fay-openai-pppppppppppppppppp';
    ok(await system(url, 'config.llm_key.set', { user_id: 'fay', provider: 'openai', api_key: KEY }), 'set');

    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    const refused = await system(url, 'config.llm_key.set', { user_id: 'fay', provider: 'openai', api_key: KEY });
    assert.equal(refused.body.error?.code, -32603, refused.text);
    assert.match(refused.body.error?.message ?? '', /LLM key store is unavailable/);
    assert.deepEqual(ok(await system(url, 'config.llm_key.get', { user_id: 'fay' }), 'get while away'), {
      has_key: false,
      user_id: 'fay',
      provider: 'default',
      providers: {},
    });
    const receiver = await httpReceiver(t);
    const task = { name: 'probe', schemas: { method: 'key_probe' }, inputs: { to: receiver.url }, user_id: 'fay' };
    const run = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { tasks: [task] } });
    const outcome = (run.body as { result: { status: string; error?: string } }).result;
    assert.equal(outcome.status, 'failed', JSON.stringify(run.body));
    assert.match(JSON.stringify(run.body), /LLM key store is unavailable/);
    assert.equal(receiver.hits.length, 0, "the environment's key was not used instead");
    assertNoKeys(refused.text + JSON.stringify(run.body), [KEY], 'the answers');

    server = start();
    await eventually(
      async () =>
        ok(await system(url, 'config.llm_key.get', { user_id: 'fay' }), 'get after').providers !== undefined &&
        (await system(url, 'config.llm_key.set', { user_id: 'fay', provider: 'openai', api_key: KEY })).body.error ===
          undefined,
      15_000,
    );
    assert.equal(
      ok(await system(url, 'config.llm_key.get', { user_id: 'fay', provider: 'openai' }), 'back').has_key,
      true,
      'the connection came back',
    );
  },
);

test('the Redis store refuses to start without a secret or a URL, and names an unreachable Redis without its password', async (t) => {
  const cwd = projectWithExtension(t);
  const url = redisUrl ?? 'redis://127.0.0.1:6379/0';
  await assert.rejects(
    testApp(t, { plugins: [{ name: PACKAGE, options: { store: 'redis', redis_url: url } }] }, { cwd }),
    (error: Error) => {
      assert.match(error.message, /llm-key-config/);
      assert.match(error.message, /'encryption_key'/);
      assert.match(error.message, /APFLOW_LLM_KEY_SECRET/);
      return true;
    },
  );
  await assert.rejects(
    testApp(t, { plugins: [{ name: PACKAGE, options: { store: 'redis', encryption_key: SECRET } }] }, { cwd }),
    /'redis_url'/,
  );
  const port = await freePort();
  await assert.rejects(
    testApp(
      t,
      {
        plugins: [
          {
            name: PACKAGE,
            options: {
              store: 'redis',
              redis_url: `redis://someone:hunter2-password@127.0.0.1:${port}/0`,
              encryption_key: SECRET,
            },
          },
        ],
      },
      { cwd },
    ),
    (error: Error) => {
      assert.match(error.message, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0`));
      assert.ok(!error.message.includes('hunter2'), 'no password in the message');
      assert.ok(!error.message.includes(SECRET), 'no secret in the message');
      return true;
    },
  );
});
