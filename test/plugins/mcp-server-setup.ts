/** Shared setup of the MCP server tests: an app with the fixture executors, an SDK client, tool answers and a 3-task tree. */
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { repoRoot, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
/** The JWT secret of the tests with authentication on. */
export const SECRET = 'mcp-test-secret-of-enough-length-0123456789';

/** A listening app with the fixture executors (and `inline` config). */
export async function server(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, server: { shutdown_timeout_s: 0 }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** An SDK client connected to `url`/mcp (with a bearer token when given); closed (and its session ended) after the test. */
export async function connect(
  t: TestContext,
  url: string,
  token?: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(
    new URL(`${url}/mcp`),
    token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
  );
  const client = new Client({ name: 'apflow-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(async () => {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  });
  return { client, transport };
}

/** The text of a resource's first content. */
export const resourceText = (read: { contents: ({ text: string } | { blob: string })[] }) => {
  const first = read.contents[0];
  return first && 'text' in first ? first.text : '';
};

/** What a tool call answers. */
export type ToolAnswer = {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};
/** The text content of a tool answer. */
export const text = (answer: ToolAnswer) => answer.content.map((part) => part.text ?? '').join('');

/** A root with two sleeping steps, the second after the first; ids start with `prefix`. */
export const chain = (prefix: string) => [
  { id: `${prefix}-root`, name: 'root', schemas: { method: 'noop' } },
  {
    id: `${prefix}-a`,
    name: 'first step',
    parent_id: `${prefix}-root`,
    schemas: { method: 'sleep' },
    inputs: { ms: 20 },
  },
  {
    id: `${prefix}-b`,
    name: 'second step',
    parent_id: `${prefix}-root`,
    schemas: { method: 'sleep' },
    inputs: { ms: 20 },
    dependencies: [`${prefix}-a`],
  },
];
