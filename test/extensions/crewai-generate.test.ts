import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc, testApp } from '../helpers.ts';
import { crewApp, KEYS } from './fake-llm-app.ts';
import { fakeLlmServer, openaiText, promptText } from './fake-llm-servers.ts';

const plan = {
  tasks: [
    {
      id: 'report',
      name: 'Write the report',
      schemas: { method: 'echo_tool' },
      inputs: { text: 'report' },
      dependencies: [{ id: 'gather', required: true }],
    },
    {
      id: 'gather',
      name: 'Gather facts',
      parent_id: 'report',
      schemas: { method: 'echo_tool' },
      inputs: { text: 'facts' },
    },
  ],
};

test("tasks.generate: the model is told the task format and this server's executors; its tree comes back checked, and save stores it runnable", async (t) => {
  const openai = await fakeLlmServer(t, (_request, n) =>
    openaiText(n === 0 ? `Here you go:\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\`` : JSON.stringify(plan)),
  );
  const { app } = await crewApp(t, { openai: openai.baseUrl });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const generated = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.generate',
    params: { requirement: 'Write a short report about echo', model: 'openai/gpt-4o-mini' },
  });
  const result = (generated.body as { result: { tasks: unknown[]; count: number; message: string } }).result;
  assert.deepEqual(result.tasks, plan.tasks);
  assert.equal(result.count, 2);
  assert.equal(result.message, 'Successfully generated 2 task(s)');
  const asked = promptText(openai.requests[0]?.body ?? {});
  assert.match(asked, /echo_tool: Echoes a text/, 'the executors of this server are listed');
  assert.match(asked, /Write a short report about echo/);
  assert.equal(openai.requests[0]?.headers.authorization, `Bearer ${KEYS.openai}`);

  const saved = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 2,
    method: 'tasks.generate',
    params: { requirement: 'again', save: true },
  });
  const stored = (saved.body as { result: { root_task_id: string; message: string } }).result;
  assert.match(stored.message, /and saved to database \(root_task_id: .+\)$/);
  const ran = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 3,
    method: 'tasks.execute',
    params: { task_id: stored.root_task_id },
  });
  assert.equal((ran.body as { result: { status: string } }).result.status, 'completed', 'the generated tree runs');
});

test('tasks.generate refuses what it cannot use: no requirement, prose instead of JSON, a broken tree, unknown executors; without an LLM extension it says what to install', async (t) => {
  const answers = [
    'I cannot help with that.',
    JSON.stringify({ tasks: [{ name: 'a', parent_id: 'nowhere', schemas: { method: 'echo_tool' } }] }),
    JSON.stringify({ tasks: [{ name: 'x', schemas: { method: 'teleport' } }] }),
  ];
  const openai = await fakeLlmServer(t, (_request, n) => openaiText(answers[n] ?? ''));
  const { app } = await crewApp(t, { openai: openai.baseUrl });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const error = async (params: Record<string, unknown>) =>
    (
      (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.generate', params })).body as {
        error: { code: number; message: string };
      }
    ).error;
  assert.deepEqual(await error({}), { code: -32602, message: 'Requirement is required' });
  assert.match(
    (await error({ requirement: 'x' })).message,
    /Task generation failed: The model did not answer with JSON holding a tasks array/,
  );
  assert.match((await error({ requirement: 'x' })).message, /Task generation failed: .*nowhere/);
  assert.match((await error({ requirement: 'x' })).message, /does not have: teleport/);

  const bare = await testApp(t);
  const answer = await bare.inject({
    method: 'POST',
    url: '/tasks',
    payload: { jsonrpc: '2.0', id: 1, method: 'tasks.generate', params: { requirement: 'x' } },
  });
  assert.match((answer.json() as { error: { message: string } }).error.message, /npm install @apflow\/crewai/);
});
