/**
 * mcp_executor's requests to an MCP server over HTTP carry the `traceparent` of the executor
 * call's span, so a traced MCP server continues the run's trace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpServer } from '../fixtures/mcp-servers/http-server.ts';
import { testApp } from '../helpers.ts';
import { OPEN, run } from './mcp-executor-setup.ts';
import { otlpReceiver } from './otlp-receiver.ts';

test('mcp_executor’s HTTP requests carry its executor span’s traceparent', async (t) => {
  const receiver = await otlpReceiver(t);
  const server = await startHttpServer(t, {});
  const app = await testApp(t, {
    ...OPEN,
    telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } },
  });
  const { row } = await run(app, {
    transport: 'http',
    url: server.url,
    operation: 'call_tool',
    tool_name: 'count',
    arguments: { to: 2 },
  });
  assert.equal(row.status, 'completed', String(row.error));
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.executor') ? received : null,
  );
  const call = spans.find((span) => span.name === 'apflow.executor');
  const posts = server.seen.filter((request) => request.method === 'POST');
  assert.ok(posts.length > 0);
  for (const post of posts) {
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(post.headers.traceparent));
    assert.deepEqual(sent && [sent[1], sent[2]], [call?.traceId, call?.spanId]);
  }
});
