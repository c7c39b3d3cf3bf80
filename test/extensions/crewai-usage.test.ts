/**
 * Token accounting of the crewai extension's model calls against local fake LLM servers: every
 * request reported to apflow (`ctx.usage`), priced by the shipped price table, summed per task,
 * rolled up to the tree, per user and day — read through the HTTP API.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskJson, UsageDay } from 'apflow';
import { rpc } from '../helpers.ts';
import { anthropicText, fakeLlmServer, openaiText } from './fake-llm-servers.ts';
import { otlpReceiver } from '../plugins/otlp-receiver.ts';
import { crewApp } from './fake-llm-app.ts';

const works = (llm: string, task: string) => ({
  agents: { worker: { role: 'Worker', goal: 'Work', llm } },
  tasks: { [task]: { description: `Do ${task}`, agent: 'worker' } },
});

test('crew and llm calls are recorded per request, priced, and rolled up to the tree and the user’s day', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('facts', { prompt_tokens: 1200, completion_tokens: 300 }));
  const anthropic = await fakeLlmServer(t, () => anthropicText('summary', { input_tokens: 700, output_tokens: 100 }));
  const { app } = await crewApp(t, { openai: openai.baseUrl, anthropic: anthropic.baseUrl });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async <T>(method: string, params: unknown): Promise<T> => {
    const { body } = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params });
    assert.equal(body?.error, undefined, JSON.stringify(body?.error));
    return body?.result as T;
  };
  await call('tasks.create', [
    {
      id: 'report',
      name: 'Report',
      user_id: 'carol',
      schemas: { method: 'crewai_executor' },
      params: { works: works('anthropic/claude-3-5-haiku-latest', 'summary') },
    },
    {
      id: 'research',
      name: 'Research',
      parent_id: 'report',
      user_id: 'carol',
      schemas: { method: 'crewai_executor' },
      params: { works: works('openai/gpt-4o-mini', 'research') },
    },
    {
      id: 'check',
      name: 'Check',
      parent_id: 'report',
      user_id: 'carol',
      schemas: { method: 'llm_executor' },
      inputs: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'check' }] },
    },
  ]);
  const answer = await call<{ status: string }>('tasks.execute', { task_id: 'report' });
  assert.equal(answer.status, 'completed');

  const root = await call<TaskJson>('tasks.get', { task_id: 'report' });
  // Shipped prices (USD per million): claude-3-5-haiku 0.80 / 4.00, gpt-4o-mini 0.15 / 0.60.
  assert.deepEqual(root.token_usage?.by_model, {
    'anthropic/claude-3-5-haiku-latest': { input: 700, output: 100, total: 800, calls: 1, cost_usd: 0.00096 },
  });
  const tree = root.tree_token_usage;
  assert.equal(tree?.calls, 3);
  assert.deepEqual(tree?.by_model['openai/gpt-4o-mini'], {
    input: 2400,
    output: 600,
    total: 3000,
    calls: 2,
    cost_usd: 0.00072,
  });
  assert.equal(tree?.total, 3800);
  assert.equal(tree?.cost_usd, 0.00168);
  const check = await call<TaskJson>('tasks.get', { task_id: 'check' });
  assert.equal(check.token_usage?.total, 1500);
  assert.deepEqual(
    (check.result as { token_usage: unknown }).token_usage,
    { total_tokens: 1500, prompt_tokens: 1200, completion_tokens: 300 },
    'the result keeps the original’s own token_usage',
  );

  const [day, ...more] = await call<UsageDay[]>('tasks.usage', { user_id: 'carol' });
  assert.equal(more.length, 0);
  assert.deepEqual([day?.user_id, day?.total, day?.calls, day?.cost_usd], ['carol', 3800, 3, 0.00168]);
});

test('with telemetry on, each model request is a span under the executor call that made it, with its tokens', async (t) => {
  const receiver = await otlpReceiver(t);
  const openai = await fakeLlmServer(t, () => openaiText('fine', { prompt_tokens: 42, completion_tokens: 7 }));
  const { app } = await crewApp(
    t,
    { openai: openai.baseUrl },
    { telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } } },
  );
  const tree = await app.engine.createTree([
    {
      id: 'ask',
      name: 'Ask',
      schemas: { method: 'llm_executor' },
      inputs: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a secret question' }] },
    },
  ]);
  const answer = await app.engine.execute(tree.id);
  assert.ok(answer.started);
  assert.equal((await answer.done).status, 'completed');
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'ai.generateText.doGenerate') &&
    received.some((span) => span.name === 'apflow.task')
      ? received
      : null,
  );
  const executor = spans.find((span) => span.name === 'apflow.executor');
  const generate = spans.find((span) => span.name === 'ai.generateText');
  const request = spans.find((span) => span.name === 'ai.generateText.doGenerate');
  assert.equal(generate?.parentSpanId, executor?.spanId, 'the model call is under the executor call');
  assert.equal(request?.parentSpanId, generate?.spanId);
  assert.equal(request?.traceId, executor?.traceId);
  assert.equal(request?.attributes['ai.usage.promptTokens'] ?? request?.attributes['ai.usage.inputTokens'], 42);
  assert.equal(request?.attributes['ai.model.id'], 'gpt-4o-mini');
  assert.ok(!JSON.stringify(spans).includes('a secret question'), 'prompts are not recorded');
});
