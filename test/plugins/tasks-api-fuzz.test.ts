import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp, errorCatalogue } from 'apflow';
import { memoryLog, repoRoot } from '../helpers.ts';
import { fixedCases } from './tasks-api-fuzz-fixed-cases.ts';
import { randomCases, restCases } from './tasks-api-fuzz-random-cases.ts';
import { BODY_LIMIT, createRandom, type FuzzCase } from './tasks-api-fuzz-setup.ts';

type Json = Record<string, unknown>;
const CODES = new Set<number>(Object.values(errorCatalogue).map((entry) => entry.rpc));
const CREATING = new Set(['tasks.create', 'tasks.execute', 'execute_task_tree']);
const STACK = /\bat .+:\d+:\d+|node:internal|\/work\/|\.ts:\d+/;

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function send(base: string, c: FuzzCase): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
  const response = await fetch(`${base}${c.path}`, { method: c.method, headers, body: c.body });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

const expectedId = (entry: unknown) => {
  const id = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Json).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
};

function tryParse(text: string | undefined): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text ?? '') as unknown };
  } catch {
    return { ok: false };
  }
}

/** Tasks a creating call asked for, when it is one. */
function tasksOf(entry: unknown): number {
  if (typeof entry !== 'object' || entry === null || !CREATING.has(String((entry as Json).method))) return 0;
  const params = (entry as Json).params as Json | unknown[];
  const list = Array.isArray(params)
    ? params
    : Array.isArray(params.tasks)
      ? params.tasks
      : (entry as Json).method === 'tasks.create'
        ? [params]
        : [];
  return list.length;
}

function checkRpcObject(c: FuzzCase, answer: Json, entry: unknown, parsed: boolean): void {
  const where = `${c.label}: ${JSON.stringify(answer).slice(0, 300)}`;
  assert.equal(answer.jsonrpc, '2.0', where);
  assert.equal(answer.id, parsed ? expectedId(entry) : null, where);
  assert.ok('result' in answer !== 'error' in answer, where);
  const error = answer.error as { code: number; message: string; data?: unknown } | undefined;
  if (!error) return;
  assert.ok(CODES.has(error.code), where);
  assert.notEqual(error.code, -32603, `internal error for bad input: ${where}`);
  assert.equal(typeof error.message, 'string', where);
  assert.ok(error.message.length > 0, where);
  assert.doesNotMatch(error.message.slice(0, 5000), STACK, where);
}

test('hundreds of malformed requests leave the server answering and the database holding only valid trees', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-fuzz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = join(dir, 'fuzz.sqlite');
  const log = memoryLog();
  const app = await createApp({
    env: {},
    cwd: repoRoot,
    logStream: log.stream,
    inline: {
      database: { url: `sqlite:${dbFile}` },
      executors: { dirs: [join(repoRoot, 'test', 'fixtures', 'executors')] },
      examples: { auto_init: false },
      server: { body_limit: BODY_LIMIT },
      log: { level: 'warn' },
    },
  });
  let closed = false;
  t.after(() => (closed ? undefined : app.close()));
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });

  const random = createRandom(20261125);
  const seed = await send(url, {
    label: 'seed',
    method: 'POST',
    path: '/tasks',
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'tasks.create',
      params: [
        { id: 'seed-root', name: 'seed' },
        { id: 'seed-child', name: 'child', parent_id: 'seed-root' },
      ],
    }),
  });
  assert.equal(seed.status, 200);
  let expectedRows = 2;
  const acceptedRoots = new Set<string>(['seed-root']);
  const ids = ['seed-root', 'seed-child'];
  const cases = [...fixedCases(random), ...randomCases(random, 300, ids), ...restCases(random, 40)];
  assert.ok(cases.length >= 300);

  await pool(cases, 8, async (c) => {
    const answer = await send(url, c);
    const where = `${c.label} → ${answer.status} ${answer.text.slice(0, 300)}`;
    assert.match(answer.contentType, /^application\/json/, where);
    const body = tryParse(answer.text);
    assert.ok(body.ok, `answer is not JSON: ${where}`);
    if (c.expect?.status) assert.equal(answer.status, c.expect.status, where);
    if (c.method !== 'POST' || !['/tasks', '/system', '/'].includes(c.path)) {
      assert.ok([200, 400, 404].includes(answer.status), where);
      if (answer.status !== 200) assert.match(String(((body.value as Json).error as Json).code), /^APF_/, where);
      return;
    }
    // Bodies not declared as JSON are refused unread (cross-site "simple requests"): 415, nothing created.
    const jsonBody =
      c.contentType === undefined || (c.contentType !== null && /^application\/json\b/.test(c.contentType)) || !c.body;
    assert.equal(answer.status === 415, !jsonBody, where);
    assert.ok([200, 413, 415].includes(answer.status), where);
    const request = answer.status === 413 || answer.status === 415 ? { ok: false as const } : tryParse(c.body);
    const batch =
      request.ok && Array.isArray(request.value) && request.value.length > 0 && request.value.length <= 1000;
    if (batch) {
      const entries = request.value as unknown[];
      assert.ok(Array.isArray(body.value), where);
      assert.equal(body.value.length, entries.length, where);
      body.value.forEach((item, i) => checkRpcObject(c, item as Json, entries[i], true));
    } else {
      assert.ok(!Array.isArray(body.value), where);
      checkRpcObject(
        c,
        body.value as Json,
        Array.isArray(request.ok ? request.value : undefined) ? undefined : request.ok ? request.value : undefined,
        request.ok,
      );
    }
    const answers = (Array.isArray(body.value) ? body.value : [body.value]) as Json[];
    const entries = batch ? (request.value as unknown[]) : [request.ok ? request.value : undefined];
    answers.forEach((item, i) => {
      const result = item.result as Json | null | undefined;
      if (!result || tasksOf(entries[i]) === 0) return;
      expectedRows += tasksOf(entries[i]);
      acceptedRoots.add(String(result.root_task_id ?? result.id));
    });
    const first = answers[0] as Json;
    if (c.expect?.code !== undefined) assert.equal((first.error as Json | undefined)?.code, c.expect.code, where);
    if (c.expect?.accepted) assert.ok(first.result, where);
  });

  const failures = log.lines.filter((line) => line.msg === 'request failed' || line.msg === 'JSON-RPC method failed');
  assert.deepEqual(
    failures.map((line) => [line.msg, (line.err as Json | undefined)?.message]),
    [],
    'the server logged internal errors',
  );

  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as Json).status, 'ok');
  const run = await send(url, {
    label: 'valid tree',
    method: 'POST',
    path: '/',
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'ok',
      method: 'execute_task_tree',
      params: {
        tasks: [
          { name: 'after', schemas: { method: 'echo' }, inputs: { a: 1 } },
          { name: 'kid', parent_id: 'after', schemas: { method: 'noop' } },
        ],
      },
    }),
  });
  const outcome = (JSON.parse(run.text) as { result: Json }).result;
  assert.equal(outcome.status, 'completed', run.text);
  expectedRows += 2;
  acceptedRoots.add(String(outcome.root_task_id));
  await app.close();
  closed = true;

  const rows = await readRows(dbFile);
  assert.equal(rows.length, expectedRows, 'rows stored = tasks of the accepted trees');
  const byId = new Map(rows.map((row) => [row.id, row]));
  assert.deepEqual(new Set(rows.map((row) => row.root_id)), acceptedRoots);
  const roots = new Map<string, number>();
  for (const row of rows) {
    const root = byId.get(row.root_id);
    assert.ok(root && root.parent_id === null && root.root_id === root.id, `root of ${row.id}`);
    if (row.parent_id === null) roots.set(row.root_id, (roots.get(row.root_id) ?? 0) + 1);
    else assert.equal(byId.get(row.parent_id)?.root_id, row.root_id, `parent of ${row.id}`);
    const deps = row.dependencies === null ? [] : (JSON.parse(row.dependencies) as { id: string }[]);
    for (const dep of deps) assert.equal(byId.get(dep.id)?.root_id, row.root_id, `dependency ${dep.id} of ${row.id}`);
  }
  assert.ok(
    [...roots.values()].every((count) => count === 1),
    'exactly one root per tree',
  );
  assert.equal(roots.size, acceptedRoots.size);
});

interface StoredRow {
  id: string;
  parent_id: string | null;
  root_id: string;
  dependencies: string | null;
}

async function readRows(file: string): Promise<StoredRow[]> {
  // The same SQLite library as apflow's in this process (two copies do not see each other's locks).
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id, parent_id, root_id, dependencies FROM apflow_tasks').all() as StoredRow[];
  } finally {
    db.close();
  }
}
