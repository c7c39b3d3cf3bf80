import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryLog, rpc, tempProject, testApp } from '../helpers.ts';
import { anthropicText, fakeLlmServer, openaiText } from './fake-llm-servers.ts';
import { CREWAI_DEPENDENCIES, installExtension } from './install-extension.ts';

const KEYS = {
  header: 'sk-header-simple-0123456789',
  headerAnthropic: 'sk-ant-header-0123456789',
  config: 'sk-config-ann-0123456789',
  env: 'sk-env-openai-0123456789',
};

test('the whole chain against local OpenAI and Anthropic servers: header (both forms) > per-user config > environment > a clear error; no key is stored or logged', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('hi from openai'));
  const anthropic = await fakeLlmServer(t, () => anthropicText('hi from anthropic'));
  const dir = tempProject(t);
  installExtension(dir, 'crewai', '@apflow/crewai', CREWAI_DEPENDENCIES);
  installExtension(dir, 'llm-key-config', '@apflow/llm-key-config', ['ioredis']);
  const log = memoryLog();
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  const app = await testApp(
    t,
    {
      database,
      plugins: ['@apflow/crewai', '@apflow/llm-key-config'],
      llm: { providers: { openai: { base_url: openai.baseUrl }, anthropic: { base_url: anthropic.baseUrl } } },
      log: { level: 'debug' },
    },
    { cwd: dir, logStream: log.stream, env: { OPENAI_API_KEY: KEYS.env } },
  );
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const set = await rpc(url, '/system', {
    jsonrpc: '2.0',
    id: 1,
    method: 'config.llm_key.set',
    params: { user_id: 'ann', provider: 'openai', api_key: KEYS.config },
  });
  assert.equal((set.body as { result: { success: boolean } }).result.success, true);

  const complete = async (model: string, user: string, headers: Record<string, string> = {}) => {
    const task = {
      name: 'ask',
      user_id: user,
      schemas: { method: 'llm_executor' },
      inputs: { model, prompt: 'hello' },
    };
    const answer = await rpc(
      url,
      '/tasks',
      { jsonrpc: '2.0', id: 2, method: 'tasks.execute', params: { tasks: [task] } },
      headers,
    );
    return (answer.body as { result: { status: string; result?: { content: string }; error?: string } }).result;
  };

  assert.equal(
    (await complete('openai/gpt-4o-mini', 'ann', { 'x-llm-api-key': KEYS.header })).result?.content,
    'hi from openai',
  );
  assert.equal(
    openai.requests.at(-1)?.headers.authorization,
    `Bearer ${KEYS.header}`,
    "the header (simple form) first, even over ann's own key",
  );
  assert.equal(
    (
      await complete('anthropic/claude-3-5-haiku-latest', 'ann', {
        'x-llm-api-key': `anthropic:${KEYS.headerAnthropic}`,
      })
    ).result?.content,
    'hi from anthropic',
  );
  assert.equal(
    anthropic.requests.at(-1)?.headers['x-api-key'],
    KEYS.headerAnthropic,
    'the provider form, in the header Anthropic reads',
  );
  assert.equal((await complete('gpt-4o-mini', 'ann')).status, 'completed');
  assert.equal(
    openai.requests.at(-1)?.headers.authorization,
    `Bearer ${KEYS.config}`,
    "then ann's own key (config.llm_key.set)",
  );
  assert.equal((await complete('gpt-4o-mini', 'bob')).status, 'completed');
  assert.equal(openai.requests.at(-1)?.headers.authorization, `Bearer ${KEYS.env}`, 'then the environment');
  const none = await complete('mistral/mistral-small-latest', 'bob');
  assert.equal(none.status, 'failed');
  assert.match(
    none.error ?? '',
    /No API key for LLM provider 'mistral'.*X-LLM-API-KEY.*config\.llm_key\.set.*MISTRAL_API_KEY/,
  );
  assert.equal(openai.requests.length + anthropic.requests.length, 4, 'nothing was sent without a key');

  await app.close();
  const stored = ['db.sqlite', 'db.sqlite-wal']
    .map((file) => readFileSync(join(dir, file), { flag: 'a+' }).toString('latin1'))
    .join('');
  for (const key of Object.values(KEYS)) {
    assert.equal(stored.includes(key), false, `${key} is not in the database`);
    assert.equal(log.text().includes(key), false, `${key} is not in the log`);
  }
});
