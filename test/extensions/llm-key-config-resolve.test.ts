import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { httpReceiver, memoryLog, testApp } from '../helpers.ts';
import {
  assertNoKeys,
  keyProbeExecutor,
  ok,
  PACKAGE,
  probe,
  projectWithExtension,
  sqliteBytes,
  system,
} from './llm-key-config-fixtures.ts';

/**
 * @apflow/llm-key-config with the memory store: the keyResolve order (header → user config →
 * environment), isolation with authentication on, and no key anywhere but where it belongs.
 */

const SECRET = 'llm-key-config-test-secret-0123456789abcdef';
const JWT_SECRET = 'llm-key-config-jwt-secret-0123456789abcde';

test('keyResolve: the X-LLM-API-KEY header beats the user config, which beats the environment; keys reach no database, result or log', async (t) => {
  const dir = projectWithExtension(t, { 'executors/key-probe.ts': keyProbeExecutor });
  const log = memoryLog();
  const app = await createApp({
    env: { OPENAI_API_KEY: 'sk-env-openai-cccccccccccccccc' },
    cwd: dir,
    logStream: log.stream,
    inline: {
      database: { url: `sqlite:${join(dir, 'apflow.sqlite')}` },
      executors: { dirs: [join(dir, 'executors')] },
      log: { level: 'debug', requests: 'info' },
      plugins: [{ name: PACKAGE, options: { encryption_key: SECRET } }],
    },
  });
  t.after(() => app.close());
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const receiver = await httpReceiver(t);
  const KEYS = {
    env: 'sk-env-openai-cccccccccccccccc',
    user: 'sk-default-user-openai-dddddddddddd',
    userDefault: 'sk-default-user-any-eeeeeeeeeeee',
    carol: 'sk-carol-openai-ffffffffffffffff',
    header: 'sk-header-openai-gggggggggggggggg',
  };
  const texts: string[] = [];
  const used = async (options: Parameters<typeof probe>[2] = {}) => {
    const run = await probe(url, receiver.url, options);
    texts.push(run.text);
    assert.deepEqual(run.answer.result, { found: true });
    return receiver.hits.at(-1)?.headers.authorization;
  };
  const set = async (params: Record<string, unknown>) =>
    texts.push(JSON.stringify(ok(await system(url, 'config.llm_key.set', params), 'set')));

  assert.equal(await used(), `Bearer ${KEYS.env}`, 'nothing configured: the environment');
  await set({ user_id: 'default', provider: 'openai', api_key: KEYS.user });
  assert.equal(
    await used(),
    `Bearer ${KEYS.user}`,
    "a tree without an owner uses the 'default' user's key over the environment",
  );
  assert.equal(
    await used({ headers: { 'x-llm-api-key': `openai:${KEYS.header}` } }),
    `Bearer ${KEYS.header}`,
    'the header beats the user config',
  );
  assert.equal(
    await used({ headers: { 'x-llm-api-key': `anthropic:${KEYS.header}` } }),
    `Bearer ${KEYS.user}`,
    'a header for another provider does not answer for openai',
  );

  await set({ user_id: 'default', api_key: KEYS.userDefault });
  ok(await system(url, 'config.llm_key.delete', { user_id: 'default', provider: 'openai' }), 'delete');
  assert.equal(await used(), `Bearer ${KEYS.userDefault}`, "the user's default key when none for the provider");

  assert.equal(await used({ user_id: 'carol' }), `Bearer ${KEYS.env}`, 'carol has no key of her own: the environment');
  await set({ user_id: 'carol', provider: 'openai', api_key: KEYS.carol });
  assert.equal(await used({ user_id: 'carol' }), `Bearer ${KEYS.carol}`, "carol's own key");
  assert.equal(await used(), `Bearer ${KEYS.userDefault}`, "carol's key is hers only");
  assert.equal(receiver.hits.at(-2)?.body.user_id, 'carol');

  const all = Object.values(KEYS);
  assertNoKeys(texts.join('\n'), all, 'the task results and method answers');
  const tasks = await app.tasks.list({ root_only: false, limit: 100 });
  assertNoKeys(JSON.stringify(tasks), all, 'the stored tasks');
  await app.close();
  assertNoKeys(sqliteBytes(dir, 'apflow.sqlite'), all, 'the SQLite database files');
  assert.ok(log.lines.length > 0, 'the server logged');
  assert.ok(log.text().includes('LLM key stored'), 'the log has the set calls');
  assertNoKeys(log.text(), all, 'the server log');
});

test('with authentication on, users touch only their own keys and their runs get their own key; administrators may name anyone', async (t) => {
  const dir = projectWithExtension(t, { 'executors/key-probe.ts': keyProbeExecutor });
  const app = await testApp(
    t,
    { auth: { jwt_secret: JWT_SECRET }, plugins: [PACKAGE], executors: { dirs: [join(dir, 'executors')] } },
    { cwd: dir, env: { OPENAI_API_KEY: 'sk-env-never-used-hhhhhhhhhh' } },
  );
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt, 'the jwt-auth service');
  const bearer = async (sub: string, roles: string[] = []) => ({
    authorization: `Bearer ${await jwt.mint(sub, roles, '1h')}`,
  });
  const alice = await bearer('alice');
  const bob = await bearer('bob');
  const root = await bearer('root', ['admin']);
  const ALICE_KEY = 'sk-alice-openai-iiiiiiiiiiiiiiii';
  const BOB_KEY = 'sk-bob-openai-jjjjjjjjjjjjjjjjjj';

  assert.equal((await system(url, 'config.llm_key.get', {})).status, 401, 'no token, no answer');
  assert.deepEqual(
    ok(await system(url, 'config.llm_key.set', { provider: 'openai', api_key: ALICE_KEY }, alice), 'alice set'),
    { success: true, user_id: 'alice', provider: 'openai' },
  );
  for (const [method, params] of [
    ['config.llm_key.set', { user_id: 'bob', api_key: ALICE_KEY }],
    ['config.llm_key.get', { user_id: 'bob' }],
    ['config.llm_key.delete', { user_id: 'bob' }],
  ] as const) {
    const refused = await system(url, method, params, alice);
    assert.equal(refused.body.error?.code, -32003, `alice ${method} for bob: ${refused.text}`);
    assert.match(refused.body.error?.message ?? '', /Permission denied: user alice can only \w+ their own LLM keys/);
    assertNoKeys(refused.text, [ALICE_KEY], 'a refusal');
  }
  assert.deepEqual(
    ok(await system(url, 'config.llm_key.get', {}, bob), 'bob get'),
    { has_key: false, user_id: 'bob', provider: 'default', providers: {} },
    "bob does not see alice's key",
  );
  assert.equal(
    ok(await system(url, 'config.llm_key.get', { user_id: 'bob' }, bob), 'bob names himself').user_id,
    'bob',
  );
  assert.deepEqual(
    ok(
      await system(url, 'config.llm_key.set', { user_id: 'bob', provider: 'openai', api_key: BOB_KEY }, root),
      'root sets for bob',
    ),
    { success: true, user_id: 'bob', provider: 'openai' },
  );
  assert.equal(
    ok(await system(url, 'config.llm_key.get', { user_id: 'alice', provider: 'openai' }, root), 'root reads alice')
      .has_key,
    true,
  );

  const receiver = await httpReceiver(t);
  for (const [who, headers, key] of [
    ['alice', alice, ALICE_KEY],
    ['bob', bob, BOB_KEY],
  ] as const) {
    const run = await probe(url, receiver.url, { headers });
    assert.deepEqual(run.answer.result, { found: true });
    assert.equal(receiver.hits.at(-1)?.headers.authorization, `Bearer ${key}`, `${who}'s run got ${who}'s key`);
    assert.equal(receiver.hits.at(-1)?.body.user_id, who);
    assertNoKeys(run.text, [ALICE_KEY, BOB_KEY], 'a run answer');
  }
  assert.equal(ok(await system(url, 'config.llm_key.delete', {}, bob), 'bob deletes his').deleted, true);
  assert.deepEqual(
    ok(await system(url, 'config.llm_key.get', { user_id: 'alice' }, alice), 'alice keeps hers').providers,
    { openai: '***' },
  );
});
