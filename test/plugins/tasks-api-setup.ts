/** Shared setup of the tasks-api tests: a real server with JSON-RPC callers, the task dict's keys and a three-task tree. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot, rpc, testApp } from '../helpers.ts';

/** A JSON object. */
export type Json = Record<string, unknown>;
/** A JSON-RPC error. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** Every key a task dict has (reference/original-apflow.md §1), in no particular order. */
export const TASK_KEYS = [
  'completed_at',
  'created_at',
  'dependencies',
  'error',
  'has_children',
  'has_copy',
  'id',
  'inputs',
  'name',
  'original_task_id',
  'params',
  'parent_id',
  'priority',
  'progress',
  'result',
  'schemas',
  'started_at',
  'status',
  'updated_at',
  'user_id',
].sort();

/**
 * A real server on 127.0.0.1 with the fixture executors (and those of `dirs`), and JSON-RPC
 * callers for it; `inline` adds config.
 */
export async function server(t: TestContext, options: { dirs?: string[]; inline?: Record<string, unknown> } = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures, ...(options.dirs ?? [])] }, ...options.inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  let next = 0;
  /** Calls `method` and returns the whole answer, checking the envelope. */
  const call = async (method: string, params?: unknown, path = '/tasks') => {
    const id = `req-${++next}`;
    const response = await rpc(url, path, { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    assert.equal(response.status, 200, `${method} answered HTTP ${response.status}`);
    const body = response.body as Json;
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, id);
    return body;
  };
  /** The result of a call that must succeed. */
  const ok = async <T = Json>(method: string, params?: unknown, path?: string): Promise<T> => {
    const body = await call(method, params, path);
    assert.equal(body.error, undefined, `${method} failed: ${JSON.stringify(body.error)}`);
    assert.ok('result' in body);
    return body.result as T;
  };
  /** The error of a call that must fail. */
  const fails = async (method: string, params?: unknown, path?: string): Promise<RpcError> => {
    const body = await call(method, params, path);
    assert.equal(body.result, undefined, `${method} should have failed: ${JSON.stringify(body.result)}`);
    return body.error as RpcError;
  };
  return { app, url, call, ok, fails };
}

/** A three-task tree: root r (echo) with children a (noop) and b (echo, depends on a), all of user u1. */
export const tree3 = (prefix = '') => [
  { id: `${prefix}r`, name: `${prefix}R`, user_id: 'u1', schemas: { method: 'echo' }, inputs: { x: 1 } },
  { id: `${prefix}a`, name: `${prefix}A`, parent_id: `${prefix}r`, user_id: 'u1', schemas: { method: 'noop' } },
  {
    id: `${prefix}b`,
    name: `${prefix}B`,
    parent_id: `${prefix}r`,
    user_id: 'u1',
    schemas: { method: 'echo' },
    dependencies: [{ id: `${prefix}a`, required: true }],
    inputs: { y: 2 },
    priority: 2,
  },
];

/** The ids of `tasks`. */
export const ids = (tasks: Json[]) => tasks.map((task) => task.id);
