import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { httpReceiver, memoryLog, testApp } from '../helpers.ts';
import {
  assertNoKeys,
  importExtension,
  keyProbeExecutor,
  ok,
  PACKAGE,
  probe,
  projectWithExtension,
  sqliteBytes,
  system,
} from './llm-key-config-fixtures.ts';

/**
 * @apflow/llm-key-config with the memory store: the original's config.llm_key.* answers, the
 * keyResolve order (header → user config → environment), isolation with authentication on, and
 * no key anywhere but where it belongs.
 */

const SECRET = 'llm-key-config-test-secret-0123456789abcdef';
const JWT_SECRET = 'llm-key-config-jwt-secret-0123456789abcde';

test('LLMKeyConfigManager on its own: per user and provider, default fallback, *** listings, sealed values', async (t) => {
  const { LLMKeyConfigManager } = await importExtension(projectWithExtension(t));
  const keys = new LLMKeyConfigManager({ encryptionKey: SECRET });
  assert.equal(keys.encrypted, true);
  await keys.setKey('ann', 'OpenAI', 'sk-ann-openai-111');
  await keys.setKey('ann', undefined, 'sk-ann-default-222');
  assert.equal(await keys.getKey('ann', 'openai'), 'sk-ann-openai-111', 'provider names ignore case');
  assert.equal(await keys.getKey('ann', 'anthropic'), 'sk-ann-default-222', "the user's default key");
  assert.equal(await keys.getKey('ann'), 'sk-ann-default-222');
  assert.equal(await keys.getKey('ben', 'openai'), undefined, 'another user has none');
  assert.deepEqual(await keys.listProviders('ann'), { default: '***', openai: '***' });
  assert.equal(await keys.deleteKey('ann', 'openai'), true);
  assert.equal(await keys.deleteKey('ann', 'openai'), false);
  assert.equal(await keys.getKey('ann', 'openai'), 'sk-ann-default-222');
  assert.equal(await keys.deleteKey('ann'), true, 'all of them');
  assert.deepEqual(await keys.listProviders('ann'), {});
  await assert.rejects(keys.setKey('ann', 'openai', ''), /api_key is required/);
  await assert.rejects(keys.setKey('', 'openai', 'sk-x'), /user_id is required/);
  assert.throws(() => new LLMKeyConfigManager({ encryptionKey: 'too short' }), /at least 32 characters/);
  await keys.close();
});

test('config.llm_key.set/get/delete answer as the original did, and no answer holds a key', async (t) => {
  const app = await testApp(t, { plugins: [PACKAGE] }, { cwd: projectWithExtension(t) });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const K1 = 'sk-u1-openai-aaaaaaaaaaaaaaaa';
  const K2 = 'sk-u1-default-bbbbbbbbbbbbbbbb';
  const answers: string[] = [];
  const call = async (method: string, params: unknown) => {
    const answer = await system(url, method, params);
    answers.push(answer.text);
    return answer;
  };

  const anonymous = await call('config.llm_key.set', { api_key: K1 });
  assert.equal(anonymous.body.error?.code, -32602);
  assert.equal(anonymous.body.error?.message, 'user_id is required (not authenticated)');
  const missing = await call('config.llm_key.set', { user_id: 'u1' });
  assert.equal(missing.body.error?.code, -32602);
  assert.match(missing.body.error?.message ?? '', /api_key/);
  const wrongType = await call('config.llm_key.set', { user_id: 'u1', api_key: K1, provider: 7 });
  assert.equal(wrongType.body.error?.code, -32602);
  assert.match(wrongType.body.error?.message ?? '', /provider/);
  const huge = `sk-${'x'.repeat(9000)}`;
  const tooLong = await call('config.llm_key.set', { user_id: 'u1', api_key: huge });
  assert.equal(tooLong.body.error?.code, -32602);
  assert.match(tooLong.body.error?.message ?? '', /api_key/);
  assertNoKeys(tooLong.text, [huge.slice(0, 40)], 'a validation error');

  assert.deepEqual(
    ok(await call('config.llm_key.set', { user_id: 'u1', provider: 'openai', api_key: K1 }), 'set openai'),
    { success: true, user_id: 'u1', provider: 'openai' },
  );
  assert.deepEqual(ok(await call('config.llm_key.set', { user_id: 'u1', api_key: K2 }), 'set default'), {
    success: true,
    user_id: 'u1',
    provider: 'default',
  });
  assert.deepEqual(ok(await call('config.llm_key.get', { user_id: 'u1', provider: 'OpenAI' }), 'get openai'), {
    has_key: true,
    user_id: 'u1',
    provider: 'openai',
    providers: { default: '***', openai: '***' },
  });
  assert.equal(
    ok(await call('config.llm_key.get', { user_id: 'u1', provider: 'anthropic' }), 'get anthropic').has_key,
    true,
    "the user's default key counts",
  );
  assert.deepEqual(ok(await call('config.llm_key.get', { user_id: 'u2' }), 'get u2'), {
    has_key: false,
    user_id: 'u2',
    provider: 'default',
    providers: {},
  });
  assert.deepEqual(ok(await call('config.llm_key.get', {}), 'get without params'), {
    has_key: false,
    user_id: 'default',
    provider: 'default',
    providers: {},
  });

  assert.deepEqual(ok(await call('config.llm_key.delete', { user_id: 'u1', provider: 'openai' }), 'delete openai'), {
    success: true,
    user_id: 'u1',
    deleted: true,
    provider: 'openai',
  });
  assert.equal(
    ok(await call('config.llm_key.delete', { user_id: 'u1', provider: 'openai' }), 'delete again').deleted,
    false,
  );
  assert.deepEqual(ok(await call('config.llm_key.get', { user_id: 'u1' }), 'after delete').providers, {
    default: '***',
  });
  assert.deepEqual(ok(await call('config.llm_key.delete', { user_id: 'u1' }), 'delete all'), {
    success: true,
    user_id: 'u1',
    deleted: true,
    provider: 'all',
  });
  assert.deepEqual(ok(await call('config.llm_key.get', { user_id: 'u1' }), 'after delete all').providers, {});
  assertNoKeys(answers.join('\n'), [K1, K2], 'the answers');
});

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

test('the memory store survives a reload of the server, and options are checked at start', async (t) => {
  const cwd = projectWithExtension(t);
  const app = await testApp(t, { plugins: [PACKAGE] }, { cwd });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  ok(await system(url, 'config.llm_key.set', { user_id: 'dan', api_key: 'sk-dan-kkkkkkkkkkkkkkkkkkkk' }), 'set');
  await app.reload();
  assert.equal(ok(await system(url, 'config.llm_key.get', { user_id: 'dan' }), 'after reload').has_key, true);
  const other = await testApp(t, { plugins: [PACKAGE] }, { cwd });
  const { url: otherUrl } = await other.listen({ host: '127.0.0.1', port: 0 });
  assert.equal(
    ok(await system(otherUrl, 'config.llm_key.get', { user_id: 'dan' }), 'another server').has_key,
    false,
    'another server in the same process has its own store',
  );

  await assert.rejects(
    testApp(t, { plugins: [{ name: PACKAGE, options: { encryption_key: 'short-secret' } }] }, { cwd }),
    (error: Error) => /encryption_key/.test(error.message) && !error.message.includes('short-secret'),
  );
  await assert.rejects(
    testApp(t, { plugins: [{ name: PACKAGE, options: {} }] }, { cwd, env: { APFLOW_LLM_KEY_SECRET: 'short-secret' } }),
    /APFLOW_LLM_KEY_SECRET must have at least 32 characters/,
  );
  await assert.rejects(testApp(t, { plugins: [{ name: PACKAGE, options: { store: 'disk' } }] }, { cwd }), /store/);
});
