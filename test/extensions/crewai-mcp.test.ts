import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startHttpServer } from '../fixtures/mcp-servers/http-server.ts';
import { memoryLog, tempProject, testApp } from '../helpers.ts';
import { fakeLlmServer, openaiText, openaiToolCall } from './fake-llm-servers.ts';
import { runTree } from './fake-llm-app.ts';
import { CREWAI_DEPENDENCIES, installExtension } from './install-extension.ts';

const KEY = 'sk-openai-test-mcp-0123456789';
const keysPlugin = `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'test-keys',
  setup(app) { app.hooks.keyResolve.tapPromise('test-keys', async () => ${JSON.stringify(KEY)}); },
});`;

/** An app with `@apflow/crewai` installed as npm lays it out, OpenAI at `openaiUrl`, loopback MCP servers allowed. */
async function crewApp(t: TestContext, openaiUrl: string, inline: Record<string, unknown> = {}) {
  const dir = tempProject(t, { 'keys.ts': keysPlugin });
  installExtension(dir, 'crewai', '@apflow/crewai', CREWAI_DEPENDENCIES);
  const log = memoryLog();
  const app = await testApp(
    t,
    {
      plugins: ['@apflow/crewai', join(dir, 'keys.ts')],
      llm: { providers: { openai: { base_url: openaiUrl } } },
      outbound: { allow_hosts: ['127.0.0.1'] },
      log: { level: 'debug' },
      ...inline,
    },
    { cwd: dir, logStream: log.stream },
  );
  return { app, log };
}

/** A crew of one agent whose tools are `tools`, and one task. */
const crew = (tools: unknown[]) => ({
  agents: { helper: { role: 'Helper', goal: 'Use tools', llm: 'openai/gpt-4o-mini', tools } },
  tasks: { sum: { description: 'Add 2 and 3 with the tool', agent: 'helper' } },
});

test("an agent calls an MCP server's tool: the server answers and its answer reaches the crew result; the session is closed", async (t) => {
  const token = `token-${randomUUID()}`;
  const server = await startHttpServer(t, { token });
  const openai = await fakeLlmServer(t, (request, n) => {
    if (n === 0) return openaiToolCall('calc_add', { a: 2, b: 3 });
    const messages = request.body.messages as { role: string; content: unknown }[];
    return openaiText(`The tool said: ${String(messages.find((message) => message.role === 'tool')?.content)}`);
  });
  const { app, log } = await crewApp(t, openai.baseUrl);
  const mcp = {
    transport: 'http',
    url: server.url,
    headers: { authorization: `Bearer ${token}` },
    tools: ['add'],
    prefix: 'calc_',
  };
  const { outcome, row, events } = await runTree(app, [
    { id: 'crew', name: 'MCP', schemas: { method: 'crewai_executor' }, params: { works: crew([{ mcp }]) } },
  ]);
  assert.equal(outcome.status, 'completed', outcome.error);
  const result = row?.result as { status: string; result: unknown };
  assert.equal(result.status, 'success');
  assert.match(String(result.result), /^The tool said: .*sum is 5/);

  const offered = (
    openai.requests[0]?.body.tools as { function: { name: string; parameters: { properties: object } } }[]
  ).map((tool) => tool.function);
  assert.deepEqual(
    offered.map((tool) => tool.name),
    ['calc_add'],
    'only the listed tools, with the prefix',
  );
  assert.deepEqual(
    Object.keys(offered[0]!.parameters.properties).sort(),
    ['a', 'b'],
    "the tool's input schema is the model's",
  );
  assert.equal(server.sessions(), 0, 'the session was ended with the crew');
  assert.ok(server.seen.some((request) => request.method === 'DELETE'));
  const everything = JSON.stringify({ result: row?.result, events }) + log.text();
  assert.ok(!everything.includes(token), 'the header value is never shown');
});

test('an agent with MCP tools fails clearly when the mcp plugin is disabled, before any model call', async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('never'));
  const { app } = await crewApp(t, openai.baseUrl, { disabled_plugins: ['mcp'] });
  const { outcome } = await runTree(app, [
    {
      name: 'crew',
      schemas: { method: 'crewai_executor' },
      params: { works: crew([{ mcp: { transport: 'http', url: 'http://127.0.0.1:9/mcp' } }]) },
    },
  ]);
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    "Agent 'helper' has MCP tools, but the mcp plugin is not loaded (take 'mcp' out of disabled_plugins)",
  );
  assert.equal(openai.requests.length, 0);
});

test("an agent's stdio MCP server is refused unless mcp.client.stdio allows it", async (t) => {
  const openai = await fakeLlmServer(t, () => openaiText('never'));
  const { app } = await crewApp(t, openai.baseUrl);
  const { outcome } = await runTree(app, [
    {
      name: 'crew',
      schemas: { method: 'crewai_executor' },
      params: { works: crew([{ mcp: { transport: 'stdio', command: ['npx', 'some-server'] } }]) },
    },
  ]);
  assert.equal(outcome.status, 'failed');
  assert.match(
    outcome.error ?? '',
    /^agent 'helper' MCP tools: transport 'stdio' is disabled: set mcp\.client\.stdio\.enabled: true/,
  );
  assert.equal(openai.requests.length, 0);
});
