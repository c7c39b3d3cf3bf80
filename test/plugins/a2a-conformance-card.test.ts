import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempProject, testApp } from '../helpers.ts';
import { fixtures, V1, MCP_URI, NO_MCP, type Json, a2aApp } from './a2a-conformance-setup.ts';

/**
 * What the A2A conformance kit (0.3.0, optional capabilities) and the specification ask beyond
 * the main flows: errors of streaming methods come as an event of a `text/event-stream` answer;
 * push configs for names that do not resolve here are stored (the policy judges each delivery);
 * the agent card mentions the MCP endpoint exactly when the server has one.
 */

/** A test-local plugin that serves `method /mcp` (a stand-in for the mcp plugin's route). */
const fakeMcp = (method: 'POST' | 'GET') => `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'fake-mcp-${method.toLowerCase()}', setup(app) { app.http.route({ method: '${method}', url: '/mcp', handler: async () => ({ fake: true }) }); } });
`;

async function cards(url: string) {
  const v03 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as {
    capabilities: { extensions?: Json[] };
  };
  const v1 = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    capabilities: { extensions?: Json[] };
  };
  const mention = (card: typeof v03) =>
    (card.capabilities.extensions ?? []).filter((extension) => extension.uri === MCP_URI);
  return { v03: mention(v03), v1: mention(v1) };
}

test('the agent card mentions the MCP endpoint (a data-only extension) exactly when POST /mcp is served', async (t) => {
  const dir = tempProject(t, { 'fake-mcp-post.ts': fakeMcp('POST'), 'fake-mcp-get.ts': fakeMcp('GET') });
  const without = await a2aApp(t);
  assert.deepEqual(await cards(without.url), { v03: [], v1: [] }, 'no /mcp route: no mention');
  const getOnly = await a2aApp(t, { plugins: [join(dir, 'fake-mcp-get.ts')] });
  assert.deepEqual(await cards(getOnly.url), { v03: [], v1: [] }, 'GET /mcp alone is not an MCP endpoint');

  const served = await a2aApp(t, { plugins: [join(dir, 'fake-mcp-post.ts')] });
  const found = await cards(served.url);
  for (const [version, mention] of Object.entries(found)) {
    assert.equal(mention.length, 1, `${version}: one mention`);
    const [extension] = mention as [Json];
    // v1.0 (ProtoJSON) leaves a false field out.
    assert.ok(
      extension.required === false || (version === 'v1' && extension.required === undefined),
      `${version}: no client has to understand it`,
    );
    assert.deepEqual(extension.params, { url: `${served.url}/mcp`, transport: 'streamable-http' });
    assert.match(String(extension.description), /MCP/);
  }
  // A2A's own interfaces are unchanged: /mcp is not an A2A transport.
  const card = (await (await fetch(`${served.url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    supportedInterfaces: { url: string }[];
  };
  assert.ok(card.supportedInterfaces.every((iface) => iface.url === `${served.url}/`));

  const based = await a2aApp(t, {
    plugins: [join(dir, 'fake-mcp-post.ts')],
    server: { base_url: 'https://agents.example.com/' },
  });
  assert.deepEqual(((await cards(based.url)).v1[0] as Json).params, {
    url: 'https://agents.example.com/mcp',
    transport: 'streamable-http',
  });
});

test('with the mcp plugin loaded, the card mentions its /mcp; with it disabled, not', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const served =
    (await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
      .status !== 404;
  assert.ok(served, 'the mcp plugin serves POST /mcp');
  const found = await cards(url);
  assert.deepEqual([found.v03.length, found.v1.length], [1, 1]);
  assert.deepEqual(found.v1[0]?.params, { url: `${url}/mcp`, transport: 'streamable-http' });
  const disabled = await a2aApp(t, NO_MCP);
  assert.deepEqual(await cards(disabled.url), { v03: [], v1: [] });
});
