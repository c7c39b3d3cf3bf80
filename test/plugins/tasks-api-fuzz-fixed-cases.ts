import { type FuzzCase, type Random, BODY_LIMIT } from './tasks-api-fuzz-setup.ts';

/** Hand-made bad (and a few good) requests for the tasks-api fuzz test. */

const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);
const envelope = (id: unknown, method: unknown, params?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });

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
