/** Deterministic bad (and a few good) requests for the tasks-api fuzz test. */

/** One HTTP request to send. */
export interface FuzzCase {
  label: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Content type to send; null sends none. */
  contentType?: string | null;
  body?: string;
  /** What the answer must be. */
  expect?: { status?: number; code?: number; accepted?: boolean };
}

/** A seeded PRNG (mulberry32) with the helpers the generators need. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => next() < p;
  const word = (length = 8) => Array.from({ length }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789'])).join('');
  return { next, int, pick, chance, word };
}

/** The PRNG type. */
export type Random = ReturnType<typeof createRandom>;

/** The limit the fuzz app runs with (server.body_limit). */
export const BODY_LIMIT = 3 * 1024 * 1024;

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

const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);
const envelope = (id: unknown, method: unknown, params?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });

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

/** Hand-made cases: size limits, deep nesting, 10,000-task arrays, cycles, bad references. */
export function fixedCases(r: Random): FuzzCase[] {
  const create = (label: string, tasks: unknown, expect: FuzzCase['expect'], path = '/tasks') => ({
    label,
    method: 'POST' as const,
    path,
    body: path === '/' ? envelope(label, 'execute_task_tree', { tasks }) : envelope(label, 'tasks.create', tasks),
    expect,
  });
  const rejected = { code: -32602 };
  const flat = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `flat-${r.word()}-${i}`, name: `n${i}` })).map((task, i, all) =>
      i ? { ...task, parent_id: all[0]?.id } : task,
    );
  const byName = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `n${i}`, ...(i ? { parent_id: 'n0' } : {}) }));
  const chain = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `c${i}`, ...(i ? { parent_id: `c${i - 1}` } : {}) }));
  const spoil = (tasks: Record<string, unknown>[], at: number, change: Record<string, unknown>) =>
    tasks.map((task, i) => (i === at ? { ...task, ...change } : task));
  const huge = 'x'.repeat(BODY_LIMIT + 10);
  const cases: FuzzCase[] = [
    ...['/tasks', '/system', '/'].flatMap((path) => [
      {
        label: `over body_limit ${path}`,
        method: 'POST' as const,
        path,
        body: envelope(1, 'tasks.list', { user_id: huge }),
        expect: { status: 413 },
      },
      { label: `empty body ${path}`, method: 'POST' as const, path, body: '', expect: { code: -32700 } },
      {
        label: `deep body ${path}`,
        method: 'POST' as const,
        path,
        body: nested(100_000, '[', ']'),
        expect: { code: -32600 },
      },
      { label: `empty batch ${path}`, method: 'POST' as const, path, body: '[]', expect: { code: -32600 } },
      {
        label: `1001 batch ${path}`,
        method: 'POST' as const,
        path,
        body: JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'x' }))),
        expect: { code: -32600 },
      },
      {
        label: `deep params ${path}`,
        method: 'POST' as const,
        path,
        body: `{"jsonrpc":"2.0","id":"deep","method":"${path === '/' ? 'execute_task_tree' : path === '/system' ? 'system.health' : 'tasks.list'}","params":{"a":${nested(10_000, '{"a":', '}')}}}`,
        expect: { code: -32602 },
      },
    ]),
    {
      label: '2 MB name',
      method: 'POST',
      path: '/tasks',
      body: envelope(1, 'tasks.create', [{ name: 'n'.repeat(2_000_000) }]),
      expect: rejected,
    },
    {
      label: '2 MB method',
      method: 'POST',
      path: '/tasks',
      body: envelope(2, 'm'.repeat(2_000_000)),
      expect: { code: -32601 },
    },
    {
      label: '2 MB task_id',
      method: 'POST',
      path: '/tasks',
      body: envelope(3, 'tasks.get', { task_id: 'i'.repeat(2_000_000) }),
      expect: rejected,
    },
    {
      label: '2 MB error_message',
      method: 'POST',
      path: '/tasks',
      body: envelope(4, 'tasks.cancel', { task_ids: ['a'], error_message: 'e'.repeat(2_000_000) }),
      expect: rejected,
    },
    {
      label: '2 MB original_task_id',
      method: 'POST',
      path: '/tasks',
      body: envelope(5, 'tasks.create', [{ name: 'o', original_task_id: 'o'.repeat(100_000) }]),
      expect: rejected,
    },
    // Built as text: JSON.stringify itself overflows at this depth.
    {
      label: 'deep inputs',
      method: 'POST',
      path: '/tasks',
      body: `{"jsonrpc":"2.0","id":6,"method":"tasks.create","params":[{"name":"deep","inputs":{"x":${nested(10_000, '[', ']')}}}]}`,
      expect: rejected,
    },
    {
      label: 'deep inputs on /',
      method: 'POST',
      path: '/',
      body: `{"jsonrpc":"2.0","id":7,"method":"execute_task_tree","params":{"tasks":[{"name":"deep","inputs":${nested(10_000, '{"a":', '}')}}]}}`,
      expect: rejected,
    },
    {
      label: 'deep update',
      method: 'POST',
      path: '/tasks',
      body: `{"jsonrpc":"2.0","id":8,"method":"tasks.update","params":{"task_id":"seed-child","inputs":{"x":${nested(10_000, '[', ']')}}}}`,
      expect: rejected,
    },
    create('10,000 tasks', flat(10_000), { accepted: true }),
    create('10,000 tasks, one nameless', spoil(flat(10_000), 5000, { name: '' }), rejected),
    create('10,000 tasks, one bad parent', spoil(flat(10_000), 7000, { parent_id: 'nowhere' }), rejected),
    create(
      '10,000 tasks, one duplicate id',
      spoil(flat(10_000), 9999, { id: 'flat-dup' }).map((task, i) => (i === 3 ? { ...task, id: 'flat-dup' } : task)),
      rejected,
    ),
    create('10,000 tasks, one wrongly typed priority', spoil(flat(10_000), 4321, { priority: '1' }), rejected),
    create(
      '10,000 tasks, a dependency cycle',
      spoil(spoil(byName(10_000), 10, { dependencies: ['n20'] }), 20, { dependencies: [{ name: 'n10' }] }),
      rejected,
    ),
    create('10,000 tasks by name, one duplicate', spoil(byName(10_000), 6000, { name: 'n5' }), rejected),
    create('10,000 tasks, one id missing', spoil(flat(10_000), 9000, { id: undefined }), rejected),
    create('10,000 tasks on /, one bad', spoil(flat(10_000), 5000, { inputs: 'nope' }), rejected, '/'),
    create('10,000-level chain', chain(10_000), rejected),
    create('1000-level chain', chain(1000), { accepted: true }),
    create(
      'too many tasks',
      Array.from({ length: 100_001 }, () => 0),
      rejected,
    ),
    create('self dependency', [{ name: 'a', dependencies: ['a'] }], rejected),
    create(
      'two-task cycle',
      [
        { name: 'r' },
        { name: 'a', parent_id: 'r', dependencies: ['b'] },
        { name: 'b', parent_id: 'r', dependencies: ['a'] },
      ],
      rejected,
    ),
    create('parent cycle', [{ name: 'r' }, { name: 'a', parent_id: 'b' }, { name: 'b', parent_id: 'a' }], rejected),
    create('own parent', [{ id: 'own', name: 'own', parent_id: 'own' }], rejected),
    create('depends on ancestor', [{ name: 'r' }, { name: 'a', parent_id: 'r', dependencies: ['r'] }], rejected),
    create('duplicate names', [{ name: 'r' }, { name: 'r' }], rejected),
    create(
      'duplicate ids',
      [
        { id: 'd', name: 'r' },
        { id: 'd', name: 's', parent_id: 'd' },
      ],
      rejected,
    ),
    create(
      'mixed ids',
      [
        { id: 'm', name: 'r' },
        { name: 's', parent_id: 'm' },
      ],
      rejected,
    ),
    create('two roots', [{ name: 'r' }, { name: 's' }], rejected),
    create('unknown dependency', [{ name: 'r', dependencies: [{ id: 'ghost' }] }], rejected),
    create(
      'non-boolean required',
      [{ name: 'r' }, { name: 's', parent_id: 'r', dependencies: [{ name: 'r', required: 'yes' }] }],
      rejected,
    ),
    create(
      'two owners',
      [
        { name: 'r', user_id: 'u1' },
        { name: 's', parent_id: 'r', user_id: 'u2' },
      ],
      rejected,
    ),
    create('empty', [], rejected),
    create('empty on /', [], rejected, '/'),
    create('not objects', [1, 'two', null], rejected),
  ];
  return cases;
}
