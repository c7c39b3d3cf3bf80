import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { rpc, runApflow, tempProject, testApp } from '../helpers.ts';

/**
 * Prototype pollution: `__proto__`, `constructor` and `prototype` keys in input (a config file,
 * task inputs, results, update fields) are never merged into objects in a way that reaches a
 * prototype. A config naming one is refused at load; data keeps them as plain data or drops them.
 */

const polluted = () => (({}) as Record<string, unknown>).roles ?? ({} as Record<string, unknown>).polluted;

test('a YAML config with a __proto__ key is refused at start: apflow serve names the key and exits 1', async (t) => {
  const dir = tempProject(t, { 'apflow.config.yaml': '__proto__:\n  roles: [admin]\nserver:\n  port: 0\n' });
  const { code, stderr } = await runApflow(['serve'], { cwd: dir });
  assert.equal(code, 1, stderr);
  assert.match(
    stderr,
    /^apflow: invalid configuration \(config file .*apflow\.config\.yaml\): the key '__proto__' is not allowed .*\(APF_CONFIG_INVALID\)$/m,
  );
  assert.doesNotMatch(stderr, /Sequelize|at .*\.ts:\d+/, 'a clear line, not a crash');
});

test('in process: config layers with unsafe keys are refused, naming the path, and Object.prototype stays clean', async (t) => {
  const cases: [string, RegExp][] = [
    ['{"__proto__": {"roles": ["admin"]}}', /the key '__proto__' is not allowed/],
    ['{"server": {"__proto__": {"roles": ["admin"]}}}', /the key 'server\.__proto__' is not allowed/],
    ['{"auth": {"constructor": {"prototype": {"roles": ["admin"]}}}}', /the key 'auth\.constructor' is not allowed/],
    ['{"plugins": [{"name": "x", "prototype": 1}]}', /the key 'plugins\[0\]\.prototype' is not allowed/],
  ];
  for (const [json, expected] of cases) {
    await assert.rejects(
      testApp(t, JSON.parse(json) as Record<string, unknown>),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'APF_CONFIG_INVALID');
        assert.match(error.message, expected);
        return true;
      },
    );
    assert.equal(polluted(), undefined, json);
  }
});

const EXECUTORS = {
  'executors/poisoned.ts': `import { defineExecutor } from 'apflow';
export default defineExecutor({ id: 'poisoned', description: 'a result with unsafe keys', execute: () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "x": 2}') });
`,
  'executors/probe.ts': `import { defineExecutor } from 'apflow';
export default defineExecutor({ id: 'probe', description: 'reports what its inputs hold', execute: (inputs: Record<string, unknown>) => ({
  inherited: Object.getPrototypeOf(inputs) === Object.prototype ? 'Object.prototype' : 'other',
  polluted: (inputs as { polluted?: unknown }).polluted ?? null,
  x: inputs.x ?? null,
  keys: Object.keys(inputs).sort(),
}) });
`,
};

/** A listening server with the `probe` and `poisoned` executors. */
async function probeServer(t: TestContext) {
  const dir = tempProject(t, EXECUTORS);
  const app = await testApp(t, { executors: { dirs: [join(dir, 'executors')] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

test('a dependency result with __proto__ keys pollutes nothing, and its dependents still run', async (t) => {
  const { app, url } = await probeServer(t);
  const tree = [
    { id: 'm-root', name: 'root', schemas: { method: 'probe' } },
    { id: 'm-source', parent_id: 'm-root', name: 'source', schemas: { method: 'poisoned' } },
    // By name: the schema names unsafe keys too; only `x` may come over.
    {
      id: 'm-named',
      parent_id: 'm-root',
      name: 'named',
      schemas: {
        method: 'probe',
        input_schema: {
          type: 'object',
          properties: JSON.parse('{"__proto__": {}, "constructor": {}, "prototype": {}, "x": {}}') as unknown,
        },
      },
      dependencies: [{ id: 'm-source', required: true }],
    },
    // Whole: the result goes under the dependency's id, as data.
    {
      id: 'm-whole',
      parent_id: 'm-root',
      name: 'whole',
      schemas: { method: 'probe' },
      dependencies: [{ id: 'm-source', required: true }],
    },
  ];
  const created = (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: tree })).body as {
    error?: unknown;
  };
  assert.equal(created.error, undefined, JSON.stringify(created));
  const ran = (
    await rpc(url, '/tasks', { jsonrpc: '2.0', id: 2, method: 'tasks.execute', params: { task_id: 'm-root' } })
  ).body as { result: { status: string } };
  assert.equal(ran.result.status, 'completed', JSON.stringify(ran));
  assert.equal(polluted(), undefined);

  const named = (await app.tasks.get('m-named'))?.result as Record<string, unknown>;
  assert.deepEqual(named, { inherited: 'Object.prototype', polluted: null, x: 2, keys: ['x'] });
  const whole = (await app.tasks.get('m-whole'))?.result as Record<string, unknown>;
  assert.equal(whole.inherited, 'Object.prototype');
  assert.equal(whole.polluted, null);
  assert.deepEqual(whole.keys, ['m-source']);
});

test('a dependency whose id is __proto__ is merged as data, not as the inputs prototype', async (t) => {
  const { app, url } = await probeServer(t);
  const tree = [
    { id: 'p-root', name: 'root', schemas: { method: 'probe' } },
    { id: '__proto__', parent_id: 'p-root', name: 'source', schemas: { method: 'poisoned' } },
    {
      id: 'p-dependent',
      parent_id: 'p-root',
      name: 'dependent',
      schemas: { method: 'probe' },
      dependencies: [{ id: '__proto__', required: true }],
    },
  ];
  const created = (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: tree })).body as {
    result?: { children: { id: string; name: string }[] };
  };
  const source = created.result?.children.find((child) => child.name === 'source')?.id as string;
  const ran = (
    await rpc(url, '/tasks', { jsonrpc: '2.0', id: 2, method: 'tasks.execute', params: { task_id: 'p-root' } })
  ).body as { result: { status: string } };
  assert.equal(ran.result.status, 'completed', JSON.stringify(ran));
  const dependent = (await app.tasks.get('p-dependent'))?.result as Record<string, unknown>;
  assert.equal(dependent.inherited, 'Object.prototype', `the inputs keep their prototype (source id ${source})`);
  assert.equal(dependent.x, null, 'nothing inherited from the result');
  assert.equal(polluted(), undefined);
});

test('tasks.update with __proto__ or constructor fields ignores them like any unknown field', async (t) => {
  const app = await testApp(t);
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const created = (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: [{ name: 'u' }] }))
    .body as { result: { id: string } };
  const id = created.result.id;
  const body = `{"jsonrpc":"2.0","id":2,"method":"tasks.update","params":{"task_id":"${id}","__proto__":{"name":"x"},"constructor":"y","prototype":1,"name":"renamed","inputs":{"__proto__":{"polluted":1}}}}`;
  const answer = (await rpc(url, '/tasks', body)).body as {
    result?: { name: string; inputs: Record<string, unknown> };
    error?: unknown;
  };
  assert.equal(answer.error, undefined, JSON.stringify(answer));
  assert.equal(answer.result?.name, 'renamed');
  assert.equal(polluted(), undefined);
});
