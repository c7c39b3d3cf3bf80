/** Shared setup of the A2A conformance tests: an A2A app, streaming calls read whole, and messages of both protocol versions. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { memoryLog, repoRoot, rpc, testApp } from '../helpers.ts';

/** The fixture executors folder. */
export const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
/** The header that asks for A2A protocol 1.0. */
export const V1 = { 'a2a-version': '1.0' };
/** The extension URI the agent card names the MCP endpoint with. */
export const MCP_URI = 'https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http';
/** The mcp plugin is left out where the test is not about it (its own tests cover it). */
export const NO_MCP = { disabled_plugins: ['mcp'] };

/** A JSON object. */
export type Json = Record<string, unknown>;
interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}
/** A JSON-RPC answer. */
export interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: Json;
  error?: RpcError;
}

/** A listening app with the fixture executors (and no mcp plugin unless `inline` says). */
export async function a2aApp(t: TestContext, inline: Json = {}, log = memoryLog()) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...NO_MCP, ...inline }, { logStream: log.stream });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (body: unknown, headers: Record<string, string> = {}): Promise<Envelope> => {
    const answer = await rpc(url, '/', body, headers);
    assert.equal(answer.status, 200, `HTTP status of ${JSON.stringify(body)}`);
    return answer.body as Envelope;
  };
  return { app, url, call, log };
}

/** One SSE event: its `event:` type (when named) and its `data:` parsed. */
interface SseEvent {
  event?: string;
  data: Envelope;
}

/** POSTs a call as a streaming client does and reads the whole answer (the stream must end). */
export async function streamCall(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const events: SseEvent[] = [];
  if (type.startsWith('text/event-stream')) {
    for (const block of text.split('\n\n').filter((chunk) => chunk.trim() !== '')) {
      const lines = block.split('\n').filter((line) => !line.startsWith(':'));
      if (lines.length === 0) continue;
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
      const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
      assert.equal(data.length, 1, `one data line per event: ${block}`);
      events.push({ ...(event ? { event } : {}), data: JSON.parse(data[0] as string) as Envelope });
    }
  }
  return { status: response.status, type, text, events };
}

/** Asserts the answer is a stream holding exactly one event: the JSON-RPC error `code` for `id`. */
export function assertErrorStream(answer: Awaited<ReturnType<typeof streamCall>>, code: number, id: unknown): RpcError {
  assert.equal(answer.status, 200);
  assert.match(answer.type, /^text\/event-stream/, `an event stream, got ${answer.type}: ${answer.text}`);
  assert.equal(answer.events.length, 1, `exactly one event: ${answer.text}`);
  const only = answer.events[0]?.data as Envelope;
  assert.equal(only.jsonrpc, '2.0');
  assert.deepEqual(only.id, id, 'the id is echoed');
  assert.equal(only.result, undefined);
  assert.equal(only.error?.code, code, `error ${code} expected: ${answer.text}`);
  return only.error;
}

/** A protocol 0.3 user message. */
export const v03Message = (text = 'Hello from the test') => ({
  kind: 'message',
  messageId: randomUUID(),
  role: 'user',
  parts: [{ kind: 'text', text }],
});
/** A protocol 1.0 user message. */
export const v1Message = (parts: unknown[] = [{ text: 'Hello from the test' }], extra: Json = {}) => ({
  messageId: randomUUID(),
  role: 'ROLE_USER',
  parts,
  ...extra,
});
