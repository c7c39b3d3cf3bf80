/**
 * LLM usage accounting through the public API: executors report calls (`ctx.usage`), the ledger
 * prices them, and tasks.get / tasks.tree / tasks.list / tasks.usage and /metrics show them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TaskJson, TaskTreeJson, TokenUsage, UsageDay } from 'apflow';
import { testDatabases } from '../databases.ts';
import { repoRoot } from '../helpers.ts';
import { scrape, total } from './metrics-setup.ts';
import { server } from './tasks-api-setup.ts';

const usageExecutors = join(repoRoot, 'test', 'fixtures', 'usage-executors');
const call = (model: string, input_tokens: number, output_tokens: number, provider?: string) => ({
  model,
  input_tokens,
  output_tokens,
  ...(provider ? { provider } : {}),
});

/** A root that made two calls, a child with one of a priced and one of an unpriced model, an echo child. */
const llmTree = (prefix: string, user: string) => [
  {
    id: `${prefix}root`,
    name: 'root',
    user_id: user,
    schemas: { method: 'fake_llm' },
    inputs: { calls: [call('gpt-4o-mini', 1000, 500), call('gpt-4o-mini-2024-07-18', 2000, 0)] },
  },
  {
    id: `${prefix}writer`,
    name: 'writer',
    parent_id: `${prefix}root`,
    user_id: user,
    schemas: { method: 'fake_llm' },
    inputs: {
      calls: [call('anthropic/claude-3-5-haiku-latest', 4000, 1000), call('my-local-model', 10, 20, 'ollama')],
    },
  },
  { id: `${prefix}plain`, name: 'plain', parent_id: `${prefix}root`, user_id: user, schemas: { method: 'echo' } },
];

for (const db of testDatabases()) {
  test(`${db.name}: LLM calls are priced and summed per task, per tree and per user and day`, async (t) => {
    const { ok } = await server(t, {
      dirs: [usageExecutors],
      inline: {
        database: { url: await db.create(t) },
        // Overrides a shipped price, so the sums below are the config's.
        usage: { prices: { 'openai/gpt-4o-mini': { input: 1, output: 2 } } },
      },
    });
    await ok('tasks.create', llmTree('a-', 'ann'));
    await ok('tasks.execute', { task_id: 'a-root' });
    await ok('tasks.create', llmTree('b-', 'bob'));
    await ok('tasks.execute', { task_id: 'b-root' });

    const root = await ok<TaskJson & { counts: unknown }>('tasks.get', { task_id: 'a-root' });
    // gpt-4o-mini at $1 / $2 per million: 1000 in + 500 out, then a dated snapshot priced as it, 2000 in.
    assert.deepEqual(root.token_usage, {
      input: 3000,
      output: 500,
      total: 3500,
      calls: 2,
      cost_usd: 0.004,
      by_model: {
        'openai/gpt-4o-mini': { input: 1000, output: 500, total: 1500, calls: 1, cost_usd: 0.002 },
        'openai/gpt-4o-mini-2024-07-18': { input: 2000, output: 0, total: 2000, calls: 1, cost_usd: 0.002 },
      },
    });
    // The tree: the root's calls, the writer's (claude-3-5-haiku at the shipped $0.80 / $4, and an
    // unpriced local model), nothing from the echo.
    const tree = root.tree_token_usage as TokenUsage;
    assert.equal(tree.input, 3000 + 4010);
    assert.equal(tree.output, 500 + 1020);
    assert.equal(tree.calls, 4);
    assert.equal(tree.cost_usd, 0.004 + 0.0072);
    assert.deepEqual(tree.by_model['ollama/my-local-model'], {
      input: 10,
      output: 20,
      total: 30,
      calls: 1,
      cost_usd: null,
    });
    assert.equal(tree.by_model['anthropic/claude-3-5-haiku-latest']?.cost_usd, 0.0072);

    const child = await ok<TaskJson>('tasks.get', { task_id: 'a-writer' });
    assert.equal(child.token_usage?.total, 5030);
    assert.equal(child.tree_token_usage, undefined, "only a root carries its tree's totals");
    const plain = await ok<TaskJson>('tasks.get', { task_id: 'a-plain' });
    assert.ok(!('token_usage' in plain), 'a task without LLM calls keeps the original keys');

    const whole = await ok<TaskTreeJson>('tasks.tree', { task_id: 'a-plain' });
    const byId = new Map(whole.children?.map((node) => [node.id, node]));
    assert.equal(whole.token_usage?.total, 3500);
    assert.equal(byId.get('a-writer')?.token_usage?.calls, 2);
    assert.ok(!('token_usage' in (byId.get('a-plain') ?? {})));

    const roots = await ok<TaskJson[]>('tasks.list', {});
    assert.deepEqual(roots.map((task) => [task.id, task.tree_token_usage?.total]).sort(), [
      ['a-root', 8530],
      ['b-root', 8530],
    ]);

    const today = new Date().toISOString().slice(0, 10);
    const days = await ok<UsageDay[]>('tasks.usage', { since: today });
    assert.deepEqual(
      days.map((day) => [day.user_id, day.day, day.total, day.calls, day.cost_usd]),
      [
        ['ann', today, 8530, 4, 0.0112],
        ['bob', today, 8530, 4, 0.0112],
      ],
    );
    assert.deepEqual(
      (await ok<UsageDay[]>('tasks.usage', { user_id: 'ann' })).map((day) => day.user_id),
      ['ann'],
    );
    assert.deepEqual(await ok('tasks.usage', { until: '2000-01-01' }), []);
  });
}

test('a bad usage report fails the task with what was wrong; bad tasks.usage params are named', async (t) => {
  const { ok, fails } = await server(t, { dirs: [usageExecutors] });
  await ok('tasks.create', [
    {
      id: 'bad',
      name: 'bad',
      schemas: { method: 'fake_llm' },
      inputs: { calls: [{ model: 'gpt-4o', input_tokens: -1, output_tokens: 1 }] },
    },
  ]);
  await ok('tasks.execute', { task_id: 'bad' });
  const task = await ok<TaskJson>('tasks.get', { task_id: 'bad' });
  assert.equal(task.status, 'failed');
  assert.equal(task.error, 'ctx.usage: input_tokens must be a whole number of tokens, 0 or more (got -1)');
  assert.equal((await fails('tasks.usage', { since: 'yesterday' })).code, -32602);
  const backwards = await fails('tasks.usage', { since: '2026-02-01', until: '2026-01-01' });
  assert.match(backwards.message, /since \(2026-02-01\) is after until \(2026-01-01\)/);
  assert.match((await fails('tasks.usage', { since: '2026-13-45' })).message, /since must be a day/);
});

test('/metrics counts the tokens and dollars of LLM calls by provider and model', async (t) => {
  const { ok, url } = await server(t, { dirs: [usageExecutors] });
  await ok('tasks.create', llmTree('m-', 'ann'));
  await ok('tasks.execute', { task_id: 'm-root' });
  const { exposition } = await scrape(url);
  const tokens = (labels: Record<string, string>) => total(exposition, 'apflow_llm_tokens_total', labels);
  assert.equal(tokens({ provider: 'openai', model: 'gpt-4o-mini', type: 'input' }), 1000);
  assert.equal(tokens({ provider: 'openai', model: 'gpt-4o-mini', type: 'output' }), 500);
  assert.equal(tokens({ provider: 'ollama', model: 'my-local-model', type: 'output' }), 20);
  // Shipped prices: gpt-4o-mini $0.15 / $0.60 per million.
  const cost = total(exposition, 'apflow_llm_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' });
  assert.ok(Math.abs(cost - (1000 * 0.15 + 500 * 0.6) / 1e6) < 1e-12, `cost ${cost}`);
  assert.equal(total(exposition, 'apflow_llm_cost_usd_total', { provider: 'ollama' }), 0);
});

test('a deleted task’s calls stay in its user’s days but not under its id: a new task with that id starts with none', async (t) => {
  const { ok } = await server(t, { dirs: [usageExecutors] });
  const once = [
    {
      id: 'reused',
      name: 'reused',
      user_id: 'ann',
      schemas: { method: 'fake_llm' },
      inputs: { calls: [call('gpt-4o', 100, 10)] },
    },
  ];
  await ok('tasks.create', once);
  await ok('tasks.execute', { task_id: 'reused' });
  assert.equal((await ok<TaskJson>('tasks.get', { task_id: 'reused' })).token_usage?.total, 110);
  await ok('tasks.update', { task_id: 'reused', status: 'pending' });
  await ok('tasks.delete', { task_id: 'reused' });
  await ok('tasks.create', [{ ...once[0], user_id: 'bob', schemas: { method: 'echo' }, inputs: {} }]);
  await ok('tasks.execute', { task_id: 'reused' });
  const fresh = await ok<TaskJson>('tasks.get', { task_id: 'reused' });
  assert.ok(!('token_usage' in fresh) && !('tree_token_usage' in fresh), 'bob’s task shows none of ann’s calls');
  assert.deepEqual(
    (await ok<UsageDay[]>('tasks.usage', {})).map((day) => [day.user_id, day.total]),
    [['ann', 110]],
  );
});
