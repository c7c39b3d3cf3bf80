/** A tree started by an MCP tool counts against the budget; a refused tool call says why in structured content. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, server, type ToolAnswer } from './mcp-server-setup.ts';

test('execute_task over the daily tree budget: a tool error whose structured content has the refusal’s data', async (t) => {
  const { url } = await server(t, { quotas: { enabled: true, trees_per_day: 1 } });
  const { client } = await connect(t, url);
  const tree = (id: string) => ({ tasks: [{ id, name: id, schemas: { method: 'echo' } }] });
  const first = (await client.callTool({ name: 'execute_task', arguments: tree('m1') })) as ToolAnswer;
  assert.notEqual(first.isError, true, JSON.stringify(first));
  const refused = (await client.callTool({ name: 'execute_task', arguments: tree('m2') })) as ToolAnswer & {
    structuredContent?: { error: { code: string; data: { reason: string; limit: number } } };
  };
  assert.equal(refused.isError, true);
  assert.match(refused.content[0]?.text ?? '', /^Daily task tree quota exceeded/);
  assert.deepEqual(
    [refused.structuredContent?.error.code, refused.structuredContent?.error.data.reason],
    ['APF_QUOTA_EXCEEDED', 'trees'],
  );
});
