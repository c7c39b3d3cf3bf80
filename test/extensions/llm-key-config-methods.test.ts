import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testApp } from '../helpers.ts';
import { assertNoKeys, importExtension, ok, PACKAGE, projectWithExtension, system } from './llm-key-config-fixtures.ts';

/**
 * @apflow/llm-key-config with the memory store: the key manager on its own, the original's
 * config.llm_key.* answers, and the store across a reload (no answer holds a key).
 */

const SECRET = 'llm-key-config-test-secret-0123456789abcdef';

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
