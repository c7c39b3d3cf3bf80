// A task's question (ctx.askInput) asked through MCP elicitation, with the official SDK's Client
// over Streamable HTTP against a listening server: accept, a refused answer asked again, decline,
// an answer from elsewhere withdrawing the form, a schema too rich for a form, no capability.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { eventually, repoRoot, rpc, tempProject, testApp } from '../helpers.ts';

const durable = join(repoRoot, 'test', 'fixtures', 'durable-executors');
// A question whose schema no MCP form can show (an array of numbers): asked as one text field.
const nested = `export default {
  id: 'ask_numbers',
  async execute(inputs, ctx) {
    const answer = await ctx.askInput({
      prompt: 'Which numbers?',
      schema: { type: 'object', properties: { numbers: { type: 'array', items: { type: 'integer' } } }, required: ['numbers'] },
    });
    return { sum: answer.numbers.reduce((a, b) => a + b, 0) };
  },
};`;

type Reply = (params: ElicitRequest['params'], signal: AbortSignal) => ElicitResult | Promise<ElicitResult>;
type ToolAnswer = { structuredContent?: Record<string, unknown>; isError?: boolean };

/** A listening app with the durable fixtures, on `databaseUrl`; the project's effects log. */
async function server(t: TestContext, databaseUrl: string) {
  const dir = tempProject(t, { 'executors/ask-numbers.js': nested });
  const app = await testApp(t, {
    database: { url: databaseUrl },
    executors: { dirs: [durable, join(dir, 'executors')] },
    server: { shutdown_timeout_s: 0 },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, log: join(dir, 'effects.log') };
}

/** An SDK client; with `reply` it declares `elicitation` and answers every elicitation/create with it. */
async function connect(t: TestContext, url: string, reply?: Reply) {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  const client = new Client(
    { name: 'elicit-test', version: '1.0.0' },
    reply ? { capabilities: { elicitation: {} } } : {},
  );
  const asked: { message: string; requestedSchema?: unknown }[] = [];
  if (reply)
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      const params = request.params;
      asked.push({
        message: params.message,
        ...('requestedSchema' in params ? { requestedSchema: params.requestedSchema } : {}),
      });
      return reply(request.params, extra.signal);
    });
  await client.connect(transport);
  t.after(async () => {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  });
  return { client, asked };
}

/** Runs `tasks` through execute_task with a progress token; the call, and the progress messages so far. */
function run(client: Client, tasks: unknown[]) {
  const messages: string[] = [];
  // callTool's declared result also allows the legacy `toolResult` shape, which this server never answers.
  const call = client.callTool({ name: 'execute_task', arguments: { tasks } }, undefined, {
    onprogress: (progress) => void messages.push(progress.message ?? ''),
    timeout: 120_000,
  }) as Promise<ToolAnswer>;
  return { call, messages };
}

const approval = (id: string, log: string) => [
  { id, name: 'approve', schemas: { method: 'approval' }, inputs: { log, prompt: 'Publish the draft?' } },
];
const effects = (log: string) => readFileSync(log, 'utf8').trim().split('\n');
const statusOf = async (app: App, id: string) => (await app.tasks.get(id))?.status;

for (const database of testDatabases()) {
  test(`${database.name}: the client is asked the question as a form; its answer completes the tree`, async (t) => {
    const { url, log } = await server(t, await database.create(t));
    const { client, asked } = await connect(t, url, () => ({ action: 'accept', content: { approved: true } }));
    const { call, messages } = run(client, approval('ok', log));
    const answer = (await call).structuredContent as Record<string, unknown>;

    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.message, 'Publish the draft?');
    assert.deepEqual(asked[0]?.requestedSchema, {
      type: 'object',
      properties: { approved: { type: 'boolean' }, note: { type: 'string' } },
      required: ['approved'],
    });
    assert.equal(answer.status, 'completed');
    assert.equal((answer.result as { answer: { approved: boolean } }).answer.approved, true);
    assert.deepEqual(answer.elicitations, [
      { task_id: 'ok', outcome: 'answered', message: 'answered through elicitation' },
    ]);
    assert.deepEqual(effects(log), ['ok draft', 'ok publish']);
    assert.ok(messages.some((message) => message === 'approve: waits for input (Publish the draft?); asking you'));
  });
}

test('an answer the server refuses is asked once more with the reason; a second refusal leaves the task waiting', async (t) => {
  const { app, url, log } = await server(t, 'sqlite::memory:');
  const replies: ElicitResult[] = [
    { action: 'accept', content: { approved: 'yes' } },
    { action: 'accept', content: { approved: true, note: 'fine' } },
    { action: 'accept', content: { approved: 'no' } },
    { action: 'accept', content: { note: 'forgot' } },
  ];
  const { client, asked } = await connect(t, url, () => replies.shift() as ElicitResult);
  const first = await run(client, approval('again', log)).call;
  assert.equal(first.structuredContent?.status, 'completed');
  assert.equal(asked.length, 2);
  assert.match(String(asked[1]?.message), /^Publish the draft\?\n\nYour answer was refused: .*approved.*boolean/s);

  const { call, messages } = run(client, approval('twice', log));
  await eventually(() => asked.length === 4);
  await eventually(() => messages.some((message) => message.includes('refused again')));
  assert.equal(await statusOf(app, 'twice'), 'input_required');
  assert.match(messages.at(-1) as string, /tasks\.resume \{"task_id": "twice"/);
  await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.resume',
    params: { task_id: 'twice', input: { approved: true } },
  });
  const answer = (await call).structuredContent as { status: string; elicitations: { outcome: string }[] };
  assert.equal(answer.status, 'completed');
  assert.deepEqual(
    answer.elicitations.map((entry) => entry.outcome),
    ['refused'],
  );
});

test('declined: the task stays input_required until tasks.resume over HTTP answers it', async (t) => {
  const { app, url, log } = await server(t, 'sqlite::memory:');
  const { client, asked } = await connect(t, url, () => ({ action: 'decline' }));
  const { call, messages } = run(client, approval('no', log));
  await eventually(() => messages.some((message) => message.includes('declined')));
  assert.equal(asked.length, 1);
  assert.equal(await statusOf(app, 'no'), 'input_required');
  assert.ok(messages.some((message) => /declined; it still waits for input: answer with tasks\.resume/.test(message)));

  const resumed = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.resume',
    params: { task_id: 'no', input: { approved: true } },
  });
  assert.deepEqual(resumed.body?.result, { task_id: 'no', status: 'pending', resumed: true });
  const answer = (await call).structuredContent as Record<string, unknown>;
  assert.equal(answer.status, 'completed');
  assert.deepEqual(answer.elicitations, [
    {
      task_id: 'no',
      outcome: 'declined',
      message:
        'the question was declined; it still waits for input: answer with tasks.resume {"task_id": "no", "input": …} on /tasks, A2A or the dashboard',
    },
  ]);
  assert.deepEqual(effects(log), ['no draft', 'no publish']);
});

test('an answer from elsewhere, or the question timing out, withdraws the open form (notifications/cancelled)', async (t) => {
  const { url, log } = await server(t, 'sqlite::memory:');
  let withdrawn = 0;
  const { client, asked } = await connect(t, url, (_params, signal) =>
    asked.length === 1
      ? { action: 'accept', content: { approved: true } }
      : new Promise<ElicitResult>((resolve) =>
          signal.addEventListener('abort', () => {
            withdrawn += 1;
            resolve({ action: 'cancel' });
          }),
        ),
  );
  // The SDK's Client ignores notifications/cancelled for request id 0 (`if (!requestId) return`),
  // and the session's first elicitation has id 0: the forms withdrawn are the session's later ones.
  assert.equal((await run(client, approval('first', log)).call).structuredContent?.status, 'completed');
  const { call } = run(client, approval('elsewhere', log));
  await eventually(() => asked.length === 2);
  await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.resume',
    params: { task_id: 'elsewhere', input: { approved: true } },
  });
  await eventually(() => withdrawn === 1);
  const answer = (await call).structuredContent as Record<string, unknown>;
  assert.equal(answer.status, 'completed');
  assert.equal(answer.elicitations, undefined);

  const late = [
    { ...approval('late', log)[0], inputs: { log, timeout_s: 1, default: { approved: true, note: 'by default' } } },
  ];
  const timedOut = (await run(client, late).call).structuredContent as {
    status: string;
    result: { answer: unknown };
    elicitations?: unknown;
  };
  assert.equal(timedOut.status, 'completed');
  assert.deepEqual(timedOut.result.answer, { approved: true, note: 'by default' });
  assert.equal(timedOut.elicitations, undefined);
  assert.equal(asked.length, 3);
  await eventually(() => withdrawn === 2);
});

test('a schema no form can show is asked as one text field, parsed as JSON', async (t) => {
  const { url } = await server(t, 'sqlite::memory:');
  const { client, asked } = await connect(t, url, () => ({
    action: 'accept',
    content: { answer: '{"numbers": [2, 3]}' },
  }));
  const answer = (await run(client, [{ id: 'n', name: 'numbers', schemas: { method: 'ask_numbers' } }]).call)
    .structuredContent as { status: string; result: { sum: number } };
  assert.equal(answer.status, 'completed');
  assert.equal(answer.result.sum, 5);
  // The form as the client received it (the SDK's type of it is a wide union).
  const schema = asked[0]?.requestedSchema as { properties: Record<string, { type: string; description: string }> };
  assert.deepEqual(Object.keys(schema.properties), ['answer']);
  assert.equal(schema.properties.answer?.type, 'string');
  assert.match(String(schema.properties.answer?.description), /"numbers"/);
});

test('a client without the elicitation capability is not asked: progress says how to answer, the task waits', async (t) => {
  const { app, url, log } = await server(t, 'sqlite::memory:');
  const { client } = await connect(t, url);
  const { call, messages } = run(client, approval('plain', log));
  await eventually(() => messages.some((message) => message.includes('waits for input')));
  assert.equal(await statusOf(app, 'plain'), 'input_required');
  assert.ok(
    messages.includes(
      'approve: waits for input (Publish the draft?); answer with tasks.resume {"task_id": "plain", "input": …} on /tasks, A2A or the dashboard',
    ),
  );
  await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.resume',
    params: { task_id: 'plain', input: { approved: true } },
  });
  const answer = (await call).structuredContent as Record<string, unknown>;
  assert.equal(answer.status, 'completed');
  assert.equal(answer.elicitations, undefined);
});
