import type { FuzzCase, Random } from './tasks-api-fuzz-setup.ts';

/** Deterministic random bad requests for the tasks-api fuzz test: JSON-RPC calls and REST queries. */

const TASK_METHODS: Record<string, string[]> = {
  'tasks.get': ['task_id', 'id'],
  'tasks.detail': ['task_id'],
  'tasks.tree': ['task_id', 'root_id'],
  'tasks.list': ['user_id', 'status', 'root_only', 'limit', 'offset'],
  'tasks.children': ['parent_id', 'task_id'],
  'tasks.count': ['user_id', 'root_only'],
  'tasks.create': ['tasks'],
  'tasks.update': [
    'task_id',
    'name',
    'status',
    'priority',
    'progress',
    'inputs',
    'params',
    'dependencies',
    'parent_id',
    'started_at',
  ],
  'tasks.delete': ['task_id', 'id'],
  'tasks.copy': ['task_id', 'children', 'copy_mode', 'custom_task_ids', 'reset_fields', 'save'],
  'tasks.execute': ['task_id', 'tasks', 'use_streaming', 'copy_execution', 'use_demo'],
  'tasks.cancel': ['task_ids', 'context_ids', 'force', 'error_message'],
  'tasks.running.cancel': ['task_ids', 'force'],
  'tasks.running.list': ['user_id', 'limit'],
  'tasks.running.status': ['task_ids', 'context_ids'],
  'tasks.running.count': ['user_id'],
};
const ENDPOINT_METHODS: Record<string, string[]> = {
  '/tasks': Object.keys(TASK_METHODS),
  '/system': ['system.health', 'system.executors'],
  '/': ['execute_task_tree'],
};
const UNKNOWN_METHODS = [
  'tasks.nope',
  'TASKS.GET',
  'system.health ',
  'execute_task_tree',
  'tasks.create',
  'message/send',
  '__proto__',
  'constructor',
  'toString',
  'tasks.',
  '.',
];

/** A value of a random (usually wrong) JSON type. */
function wrongValue(r: Random): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => r.chance(0.5),
    () => r.pick([0, -1, 1.5, 1e308, -1e21, 2 ** 53 + 1, 1_000_001]),
    () =>
      r.pick([
        '',
        ' ',
        '💥',
        '\u0000',
        'null',
        '1',
        'pending,done',
        '../../etc/passwd',
        "'; DROP TABLE apflow_tasks; --",
      ]),
    () => 'x'.repeat(256 + r.int(2000)),
    () => [],
    () => [r.word(), 1, null],
    () => ({}),
    () => ({ [r.word()]: r.word() }),
    () => ({ __proto__: { polluted: true }, constructor: { prototype: 1 } }),
  ])();
}

/** A task that is wrong in one random way (or occasionally right). */
function badTask(r: Random, i: number): Record<string, unknown> {
  const task: Record<string, unknown> = { name: `t-${r.word()}-${i}` };
  const field = r.pick([
    'name',
    'id',
    'parent_id',
    'user_id',
    'priority',
    'dependencies',
    'inputs',
    'params',
    'schemas',
    'original_task_id',
    'none',
  ]);
  if (field !== 'none') task[field] = wrongValue(r);
  return task;
}

/** Params of a random wrong shape for `method`. */
function wrongParams(r: Random, method: string): unknown {
  const keys = TASK_METHODS[method] ?? ['task_id'];
  if (r.chance(0.2)) return wrongValue(r);
  if (r.chance(0.1)) return Array.from({ length: r.int(3) }, () => wrongValue(r));
  const params: Record<string, unknown> = {};
  for (let n = 1 + r.int(3); n > 0; n--) params[r.chance(0.85) ? r.pick(keys) : r.word()] = wrongValue(r);
  if (method === 'tasks.create' || method === 'tasks.execute') {
    if (r.chance(0.5)) params.tasks = Array.from({ length: 1 + r.int(4) }, (_, i) => badTask(r, i));
  }
  // Only fake ids reach the methods that would change stored trees when given a real one.
  if (typeof params.task_id === 'string' && params.task_id.length <= 255) params.task_id = `missing-${params.task_id}`;
  return params;
}

/** A JSON-RPC call with something wrong in the envelope or params; `ids` are real task ids. */
function badCall(r: Random, endpoint: string, ids: readonly string[]): unknown {
  const methods = ENDPOINT_METHODS[endpoint] as string[];
  const method = r.pick(methods);
  const id = r.pick<unknown>([r.int(1000), `id-${r.word()}`, null, undefined, 1.5, -7, '', { x: 1 }, [1], true]);
  switch (r.int(8)) {
    case 0:
      return { jsonrpc: r.pick<unknown>(['1.0', 2, 2.0, null, '', '2.0 ']), id, method };
    case 1:
      return { jsonrpc: '2.0', id, method: r.pick<unknown>([null, 1, '', [], {}, true]) };
    case 2:
      return { jsonrpc: '2.0', id, method: r.pick(UNKNOWN_METHODS) };
    case 3:
      return wrongValue(r);
    case 4: {
      // Read methods and updates on real tasks, with wrong types for the other fields.
      const name = r.pick(['tasks.get', 'tasks.detail', 'tasks.tree', 'tasks.children', 'tasks.update']);
      const params = { ...(wrongParams(r, name) as object), task_id: ids.length ? r.pick(ids) : 'none' };
      return { jsonrpc: '2.0', id, method: endpoint === '/tasks' ? name : method, params };
    }
    default:
      return {
        jsonrpc: '2.0',
        id,
        method,
        params:
          endpoint === '/tasks' ? wrongParams(r, method) : r.chance(0.5) ? wrongValue(r) : { tasks: [badTask(r, 0)] },
      };
  }
}

/** Random malformed bodies and calls, spread over the three JSON-RPC endpoints. */
export function randomCases(r: Random, count: number, ids: readonly string[]): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const path = r.pick(['/tasks', '/tasks', '/tasks', '/system', '/']);
    const kind = r.int(10);
    let body: string;
    if (kind === 0) {
      const valid = JSON.stringify(badCall(r, path, ids)) ?? 'null';
      body = valid.slice(0, Math.max(1, r.int(valid.length)));
    } else if (kind === 1) {
      body = Array.from({ length: r.int(64) }, () => String.fromCharCode(r.int(0x2fff))).join('');
    } else if (kind <= 3) {
      body = JSON.stringify(Array.from({ length: 1 + r.int(12) }, () => badCall(r, path, ids)));
    } else {
      body = JSON.stringify(badCall(r, path, ids)) ?? 'null';
    }
    const contentType = r.pick<string | null>([
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      null,
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
    ]);
    cases.push({ label: `random #${i} ${path}`, method: 'POST', path, contentType, body });
  }
  return cases;
}

/** Random junk query strings and ids for the REST views. */
export function restCases(r: Random, count: number): FuzzCase[] {
  const junk = () =>
    r.pick([
      '',
      'abc',
      '-1',
      '1e3',
      '1.5',
      '99999',
      '0x10',
      'NaN',
      'Infinity',
      '%00',
      '%E2%9C%93',
      'x'.repeat(3000),
      'true',
      '[]',
      '{}',
    ]);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const keys = ['limit', 'offset', 'status', 'user_id', 'root_only', r.word()];
    const query = Array.from({ length: 1 + r.int(4) }, () => `${r.pick(keys)}=${junk()}`).join('&');
    cases.push({ label: `GET /tasks?${query.slice(0, 60)}`, method: 'GET', path: `/tasks?${query}` });
  }
  for (const id of ['nope', '%2e%2e', 'a%2Fb', 'x'.repeat(1000), '%E0%A4%A', '💥', '%00', ' ']) {
    cases.push({ label: `GET /tasks/${id.slice(0, 20)}/status`, method: 'GET', path: `/tasks/${id}/status` });
  }
  cases.push(
    {
      label: 'repeated query keys',
      method: 'GET',
      path: '/tasks?limit=1&limit=2&status=pending&status=failed&user_id=a&user_id=b',
    },
    { label: 'GET /system', method: 'GET', path: '/system', expect: { status: 404 } },
    {
      label: 'PUT /tasks',
      method: 'PUT',
      path: '/tasks',
      contentType: 'application/json',
      body: '{}',
      expect: { status: 404 },
    },
    { label: 'DELETE /', method: 'DELETE', path: '/', contentType: null, expect: { status: 404 } },
  );
  return cases;
}
