/** Shared setup of the A2A JSON-RPC tests: an A2A app called over raw JSON-RPC, messages of both protocol versions, error checks. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot, rpc, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
/** The header that asks for A2A protocol 1.0. */
export const V1 = { 'a2a-version': '1.0' };

interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** A listening app with the fixture executors, and a JSON-RPC caller for its `/`. */
export async function a2aApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  /** POSTs `body` to `/` and returns the JSON-RPC answer, checking it came with HTTP 200. */
  const call = async (body: unknown, headers: Record<string, string> = {}): Promise<Envelope> => {
    const answer = await rpc(url, '/', body, headers);
    assert.equal(answer.status, 200, `HTTP status of ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    assert.ok(answer.body, 'a JSON body');
    return answer.body as Envelope;
  };
  return { app, url, call };
}

/** A protocol 0.3 user message. */
export const v03Message = (
  parts: unknown[] = [{ kind: 'text', text: 'Hello from the test' }],
  extra: Record<string, unknown> = {},
) => ({
  kind: 'message',
  messageId: randomUUID(),
  role: 'user',
  parts,
  ...extra,
});

/** A protocol 1.0 user message. */
export const v1Message = (
  parts: unknown[] = [{ text: 'Hello from the test' }],
  extra: Record<string, unknown> = {},
) => ({
  messageId: randomUUID(),
  role: 'ROLE_USER',
  parts,
  ...extra,
});

/** Asserts the answer is the JSON-RPC error `code` (for `id`, when given). */
export function assertError(answer: Envelope, code: number, id?: unknown) {
  assert.equal(answer.jsonrpc, '2.0');
  assert.equal(answer.error?.code, code, `expected error ${code}, got ${JSON.stringify(answer)}`);
  assert.equal(answer.result, undefined);
  if (id !== undefined) assert.deepEqual(answer.id, id, 'the id is echoed');
}
