/**
 * Shared setup of the quotas tests: real servers with authentication on (HS256 tokens signed
 * here), the fixture executors and the fake LLM, and JSON-RPC callers acting as one user each.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot, rpc, testApp } from '../helpers.ts';
import { now, SECRET, sign } from './jwt-auth-setup.ts';

const executors = [
  join(repoRoot, 'test', 'fixtures', 'executors'),
  join(repoRoot, 'test', 'fixtures', 'usage-executors'),
];

/** A JSON-RPC answer. */
export interface Answer {
  status: number;
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** The users of the tests: `root` is an administrator. */
export type Who = 'alice' | 'bob' | 'root';

/** The next UTC midnight, as quota errors and quotas.status give it. */
export const nextMidnight = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
};

/** A server with quotas set to `quotas` (and `inline` config); `as(who)` calls it as that user. */
export async function quotaServer(
  t: TestContext,
  quotas: Record<string, unknown>,
  inline: Record<string, unknown> = {},
) {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    executors: { dirs: executors },
    quotas: { enabled: true, ...quotas },
    ...inline,
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tokens: Partial<Record<Who, string>> = {};
  const token = async (who: Who) =>
    (tokens[who] ??= await sign({ sub: who, exp: now() + 3600, ...(who === 'root' ? { roles: ['admin'] } : {}) }));
  let next = 0;
  const as = (who: Who) => {
    /** Calls `method` as `who`: the HTTP status and the JSON-RPC result or error. */
    const call = async (method: string, params: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
      const answer = await rpc(
        url,
        '/tasks',
        { jsonrpc: '2.0', id: ++next, method, params },
        { authorization: `Bearer ${await token(who)}`, ...headers },
      );
      const body = answer.body as Omit<Answer, 'status'>;
      return { status: answer.status, ...body };
    };
    /** The result of a call that must succeed. */
    const ok = async <T = Record<string, unknown>>(method: string, params: unknown): Promise<T> => {
      const answer = await call(method, params);
      assert.equal(answer.error, undefined, `${who}: ${method} failed: ${JSON.stringify(answer.error)}`);
      return answer.result as T;
    };
    /** Creates a one-task tree `id` of `who` running `method` with `inputs`. */
    const create = (id: string, method = 'echo', inputs: Record<string, unknown> = {}) =>
      ok('tasks.create', { tasks: [{ id, name: id, schemas: { method }, inputs }] });
    /** Creates a one-task echo tree `id` and executes it: the execute's whole answer. */
    const run = async (id: string, headers: Record<string, string> = {}) => {
      await create(id);
      return call('tasks.execute', { task_id: id }, headers);
    };
    return { call, ok, create, run };
  };
  return { app, url, as, token };
}

/** A server's quota caller, as {@link quotaServer} makes it. */
export type QuotaCaller = ReturnType<Awaited<ReturnType<typeof quotaServer>>['as']>;

/** Checks that `answer` is the 429 quota refusal for `reason` with `used` of `limit`. */
export function assertRefused(answer: Answer, reason: string, used: number, limit: number): void {
  assert.equal(answer.status, 429, JSON.stringify(answer));
  assert.equal(answer.error?.code, -32001);
  const titles: Record<string, RegExp> = {
    trees: /^Daily task tree quota exceeded/,
    tokens: /^Daily token budget exceeded/,
    cost_usd: /^Daily cost budget exceeded/,
  };
  assert.match(answer.error?.message ?? '', titles[reason] as RegExp);
  assert.deepEqual(answer.error?.data, { reason, used, limit, reset_at: nextMidnight() });
}
