import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicText, fakeLlmServer, openaiText, openaiToolCall, promptText } from './fake-llm-servers.ts';
import { crewApp, KEYS, runTree } from './fake-llm-app.ts';

const research = {
  agents: {
    researcher: {
      role: 'Research Analyst on {topic}',
      goal: 'Research {topic}',
      backstory: 'You dig deep.',
      llm: 'openai/gpt-4o-mini',
    },
    writer: { role: 'Writer', goal: 'Summarise', llm: 'anthropic/claude-3-5-haiku-latest' },
  },
  tasks: {
    research: { description: 'Research the topic: {topic}', expected_output: 'Three facts', agent: 'researcher' },
    summary: { description: 'Summarise the research as JSON', agent: 'writer' },
  },
};

test('crewai_executor runs the tasks in order across providers, each key in its own header, context passed on, JSON parsed, usage summed', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('facts about AI: 1, 2, 3'));
  const anthropic = await fakeLlmServer(t, () => anthropicText('{"summary": "AI is big"}'));
  const { app } = await crewApp(t, { openai: openai.baseUrl, anthropic: anthropic.baseUrl });
  const { outcome, row, events } = await runTree(app, [
    {
      id: 'crew',
      name: 'Research',
      schemas: { method: 'crewai_executor' },
      params: { works: research },
      inputs: { topic: 'AI' },
    },
  ]);
  assert.equal(outcome.status, 'completed', outcome.error);
  assert.deepEqual(row?.result, {
    status: 'success',
    result: { summary: 'AI is big' },
    token_usage: {
      total_tokens: 25,
      prompt_tokens: 17,
      completion_tokens: 8,
      cached_prompt_tokens: 0,
      successful_requests: 2,
    },
  });

  assert.equal(openai.requests.length, 1);
  const [first] = openai.requests;
  assert.equal(first?.path, '/v1/chat/completions');
  assert.equal(first?.headers.authorization, `Bearer ${KEYS.openai}`);
  assert.equal(first?.body.model, 'gpt-4o-mini', 'the provider prefix is not sent');
  assert.match(promptText(first!.body), /Research Analyst on AI/);
  assert.match(promptText(first!.body), /Research the topic: AI/);
  assert.match(promptText(first!.body), /Three facts/);

  assert.equal(anthropic.requests.length, 1);
  const [second] = anthropic.requests;
  assert.equal(second?.path, '/v1/messages');
  assert.equal(second?.headers['x-api-key'], KEYS.anthropic);
  assert.equal(second?.headers.authorization, undefined);
  assert.equal(second?.body.model, 'claude-3-5-haiku-latest');
  assert.match(promptText(second!.body), /facts about AI: 1, 2, 3/, "the first task's output is the second's context");

  const progress = events.filter((event) => event.type === 'progress').map((event) => event.message);
  assert.ok(progress.includes("task 'research' done (1/2)"), JSON.stringify(progress));
  assert.ok(progress.includes("task 'summary' done (2/2)"), JSON.stringify(progress));
});

test('an agent calls an apflow executor as a tool: the executor runs and its result goes back to the model', async (t) => {
  const openai = await fakeLlmServer(t, (_request, n) =>
    n === 0 ? openaiToolCall('echo_tool', { text: 'hello' }) : openaiText('the tool said HELLO'),
  );
  const { app } = await crewApp(t, { openai: openai.baseUrl });
  const works = {
    agents: { helper: { role: 'Helper', goal: 'Use tools', llm: 'gpt-4o-mini', tools: ['echo_tool'] } },
    tasks: { shout: { description: 'Shout hello', agent: 'helper' } },
  };
  const { outcome, row } = await runTree(
    app,
    [{ id: 'crew', name: 'Tools', schemas: { method: 'crewai_executor' }, params: { works } }],
    'bob',
  );
  assert.equal(outcome.status, 'completed', outcome.error);
  const result = row?.result as {
    status: string;
    result: unknown;
    token_usage: { successful_requests: number; total_tokens: number };
  };
  assert.equal(result.status, 'success');
  assert.equal(result.result, 'the tool said HELLO');
  assert.equal(result.token_usage.successful_requests, 2);
  assert.equal(result.token_usage.total_tokens, 43);

  assert.equal(openai.requests.length, 2);
  const tools = openai.requests[0]?.body.tools as { function: { name: string; parameters: { properties: object } } }[];
  assert.equal(tools[0]?.function.name, 'echo_tool');
  assert.ok('text' in tools[0]!.function.parameters.properties, 'the executor input schema is the tool schema');
  const messages = openai.requests[1]?.body.messages as { role: string; content: unknown; tool_call_id?: string }[];
  const toolMessage = messages.find((message) => message.role === 'tool');
  assert.equal(toolMessage?.tool_call_id, 'call_1');
  assert.deepEqual(
    JSON.parse(String(toolMessage?.content)),
    { echoed: 'HELLO', user: 'bob' },
    'the executor ran as the crew task user',
  );
});

test('a provider error is reported as the original did, with the key scrubbed from it, the events and the logs', async (t) => {
  const openai = await fakeLlmServer(t, (request) => ({
    status: 401,
    body: {
      error: {
        message: `Incorrect API key provided: ${String(request.headers.authorization).slice(7)}.`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    },
  }));
  const { app, log } = await crewApp(t, { openai: openai.baseUrl });
  const works = {
    agents: { a: { role: 'R', goal: 'G', llm: 'openai/gpt-4o-mini' } },
    tasks: { only: { description: 'Do it', agent: 'a' } },
  };
  const { outcome, row, rows, events } = await runTree(app, [
    { id: 'crew', name: 'Fails', schemas: { method: 'crewai_executor' }, params: { works } },
  ]);
  assert.equal(outcome.status, 'completed', 'the task completes; its result says failed (as the original)');
  const result = row?.result as { status: string; error: string; result: unknown };
  assert.equal(result.status, 'failed');
  assert.equal(result.result, null);
  assert.match(result.error, /^openai model 'gpt-4o-mini' failed: Incorrect API key provided: \*\*\*/);
  const everything = JSON.stringify({ rows, events }) + log.text();
  assert.ok(openai.requests.length >= 1);
  assert.ok(!everything.includes(KEYS.openai.slice(0, 8)), 'no part of the key reaches results, events or logs');
});

test('with no key the task fails with a message naming the provider and the ways to give a key', async (t) => {
  const { app } = await crewApp(t, {});
  const works = {
    agents: { a: { role: 'R', goal: 'G', llm: 'mistral/mistral-small-latest' } },
    tasks: { only: { description: 'Do it', agent: 'a' } },
  };
  const { outcome } = await runTree(app, [
    { id: 'crew', name: 'NoKey', schemas: { method: 'crewai_executor' }, params: { works } },
  ]);
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.error ?? '', /No API key for LLM provider 'mistral'/);
  assert.match(outcome.error ?? '', /X-LLM-API-KEY/);
  assert.match(outcome.error ?? '', /config\.llm_key\.set/);
  assert.match(outcome.error ?? '', /MISTRAL_API_KEY/);
});

test("works are checked with the original's messages", async (t) => {
  const { app } = await crewApp(t, {});
  const cases: [unknown, string][] = [
    [undefined, 'works parameter is required'],
    [{ agents: {} }, 'works must contain agents and tasks'],
    [
      { agents: { a: { role: 'R', goal: 'G' } }, tasks: { t1: { description: 'D', agent: 'ghost' } } },
      "Agent 'ghost' not found for task 't1'",
    ],
    [
      {
        agents: { a: { role: 'R', goal: 'G', tools: ['no_such_executor'] } },
        tasks: { t1: { description: 'D', agent: 'a' } },
      },
      "Tool 'no_such_executor' of agent 'a' is not a registered executor",
    ],
  ];
  for (const [works, message] of cases) {
    const { outcome } = await runTree(app, [
      { name: 'crew', schemas: { method: 'crewai_executor' }, params: works === undefined ? {} : { works } },
    ]);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error, message);
  }
});
