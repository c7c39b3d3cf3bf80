import assert from 'node:assert/strict';
import { test } from 'node:test';
import { started, eventually } from '../helpers.ts';
import { anthropicText, fakeLlmServer, openaiText, promptText } from './fake-llm-servers.ts';
import { crewApp, KEYS, runTree } from './fake-llm-app.ts';

const work = (llm: string, description: string) => ({
  agents: { a: { role: 'Agent', goal: 'Answer', llm } },
  tasks: { t: { description, agent: 'a' } },
});

test('batch_crewai_executor runs the works in order and gathers their results with the usage summed', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('{"n": 1}'));
  const anthropic = await fakeLlmServer(t, () => anthropicText('plain text'));
  const { app } = await crewApp(t, { openai: openai.baseUrl, anthropic: anthropic.baseUrl });
  const works = {
    first: work('gpt-4o-mini', 'First about {topic}'),
    second: work('claude-3-5-haiku-latest', 'Second'),
  };
  const { outcome, row } = await runTree(app, [
    { name: 'batch', schemas: { method: 'batch_crewai_executor' }, params: { works }, inputs: { topic: 'bees' } },
  ]);
  assert.equal(outcome.status, 'completed', outcome.error);
  assert.deepEqual(row?.result, {
    status: 'success',
    result: { first: { n: 1 }, second: 'plain text' },
    token_usage: {
      total_tokens: 25,
      prompt_tokens: 17,
      completion_tokens: 8,
      cached_prompt_tokens: 0,
      successful_requests: 2,
    },
  });
  assert.match(promptText(openai.requests[0]!.body), /First about bees/);
});

test('batch_crewai_executor: a failed work fails the batch with the original message, the others still run', async (t) => {
  const openai = await fakeLlmServer(t, (request) =>
    promptText(request.body).includes('Break')
      ? { status: 400, body: { error: { message: 'boom' } } }
      : openaiText('ok'),
  );
  const { app } = await crewApp(t, { openai: openai.baseUrl });
  const works = {
    a: work('gpt-4o-mini', 'Break'),
    b: work('gpt-4o-mini', 'Fine'),
    c: work('gpt-4o-mini', 'Break too'),
  };
  const { outcome, row } = await runTree(app, [
    { name: 'batch', schemas: { method: 'batch_crewai_executor' }, params: { works } },
  ]);
  assert.equal(outcome.status, 'completed');
  const result = row?.result as {
    status: string;
    error: string;
    result: unknown;
    token_usage: { successful_requests: number };
  };
  assert.equal(result.status, 'failed');
  assert.equal(result.error, 'Failed works: a, c');
  assert.equal(result.result, null);
  assert.equal(result.token_usage.successful_requests, 1, 'the usage of the work that succeeded is kept');
});

test('llm_executor: one completion from a prompt or messages, with model, provider and token usage', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('Hi from OpenAI'));
  const anthropic = await fakeLlmServer(t, () => anthropicText('Hi from Claude'));
  const { app } = await crewApp(t, { openai: openai.baseUrl, anthropic: anthropic.baseUrl });

  const one = await runTree(app, [
    {
      name: 'llm_executor',
      inputs: { model: 'anthropic/claude-3-5-haiku-latest', prompt: 'Say hi', temperature: 0.2, max_tokens: 50 },
    },
  ]);
  assert.equal(one.outcome.status, 'completed', one.outcome.error);
  assert.deepEqual(one.row?.result, {
    content: 'Hi from Claude',
    model: 'claude-3-5-haiku-latest',
    provider: 'anthropic',
    token_usage: { total_tokens: 10, prompt_tokens: 7, completion_tokens: 3 },
  });
  assert.equal(anthropic.requests[0]?.headers['x-api-key'], KEYS.anthropic);
  assert.equal(anthropic.requests[0]?.body.max_tokens, 50);
  assert.equal(anthropic.requests[0]?.body.temperature, 0.2);

  const two = await runTree(app, [
    {
      name: 'llm_executor',
      inputs: {
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Hello' },
        ],
      },
    },
  ]);
  assert.equal(two.outcome.status, 'completed', two.outcome.error);
  assert.equal((two.row?.result as { content: string }).content, 'Hi from OpenAI');
  assert.equal(openai.requests[0]?.headers.authorization, `Bearer ${KEYS.openai}`);
  assert.deepEqual(openai.requests[0]?.body.messages, [
    { role: 'system', content: 'Be brief' },
    { role: 'user', content: 'Hello' },
  ]);
});

test('cancelling a crew task aborts its in-flight model call', async (t) => {
  const openai = await fakeLlmServer(t, () => 'hold');
  const { app } = await crewApp(t, { openai: openai.baseUrl });
  const tree = await app.engine.createTree([
    { name: 'crew', schemas: { method: 'crewai_executor' }, params: { works: work('gpt-4o-mini', 'Wait forever') } },
  ]);
  const { done } = started(await app.engine.execute(tree.id));
  await eventually(() => openai.requests.length === 1);
  await app.engine.cancel([tree.id]);
  const outcome = await done;
  assert.equal(outcome.status, 'cancelled');
  await eventually(() => openai.requests[0]?.abandoned, 5000);
});
