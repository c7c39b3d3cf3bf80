/**
 * The token and dollar budgets: LLM calls reported by an executor (the fake LLM) spend a user's
 * day; the next run is refused (or a demo), and a run under way starts no new task once it is spent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '../databases.ts';
import { assertRefused, quotaServer, type QuotaCaller } from './quotas-setup.ts';

/** A root with two fake-LLM children, the second after the first: `first` reports one call of `tokens` input tokens. */
const spendingTree = (prefix: string, tokens: number, model = 'gpt-4o-mini') => [
  { id: `${prefix}root`, name: 'root', schemas: { method: 'echo' } },
  {
    id: `${prefix}first`,
    name: 'first',
    parent_id: `${prefix}root`,
    schemas: { method: 'fake_llm' },
    inputs: { calls: [{ model, input_tokens: tokens, output_tokens: 0 }] },
  },
  {
    id: `${prefix}second`,
    name: 'second',
    parent_id: `${prefix}root`,
    schemas: { method: 'fake_llm' },
    dependencies: [{ id: `${prefix}first`, required: true }],
    inputs: { calls: [{ model, input_tokens: 10, output_tokens: 0 }] },
  },
];

/** Creates and runs the spending tree; the statuses (and the second task's error) once it ended. */
async function spend(caller: QuotaCaller, prefix: string, tokens: number, model?: string) {
  await caller.ok('tasks.create', { tasks: spendingTree(prefix, tokens, model) });
  const answer = await caller.call('tasks.execute', { task_id: `${prefix}root` });
  const task = (name: string) =>
    caller.ok<{ status: string; error: string | null; result: Record<string, unknown> | null }>('tasks.get', {
      task_id: `${prefix}${name}`,
    });
  return { answer, first: await task('first'), second: await task('second') };
}

for (const db of testDatabases()) {
  test(`${db.name}: a run that spends the token budget starts no further task; the next run is refused with reason tokens`, async (t) => {
    const { as } = await quotaServer(t, { tokens_per_day: 1000 }, { database: { url: await db.create(t) } });
    const alice = as('alice');
    const run = await spend(alice, 'a-', 1500);
    assert.equal(run.answer.status, 200, JSON.stringify(run.answer));
    assert.equal(run.first.status, 'completed');
    assert.equal(run.second.status, 'failed', 'the budget was spent before it started');
    assert.match(run.second.error ?? '', /^Daily token budget exceeded: 1500 of 1000 tokens used today/);
    assertRefused(await alice.run('after'), 'tokens', 1500, 1000);
    const status = await alice.ok<{ tokens: unknown; trees: unknown }>('quotas.status', {});
    assert.deepEqual(status.tokens, { used: 1500, limit: 1000 });
    assert.deepEqual(status.trees, { used: 1, limit: null }, 'runs are counted even without a tree limit');

    assert.equal((await as('bob').run('bob-1')).error, undefined, "alice's tokens are hers");
    const admin = await spend(as('root'), 'r-', 5000);
    assert.equal(admin.second.status, 'completed', "an administrator's run is not stopped");
    const again = await spend(as('root'), 'r2-', 10);
    assert.equal(again.second.status, 'completed', 'nor refused');
  });
}

test('the dollar budget counts priced calls: over it the next run is refused with reason cost_usd', async (t) => {
  const { as } = await quotaServer(
    t,
    { cost_usd_per_day: 0.002 },
    { usage: { prices: { 'openai/gpt-4o-mini': { input: 1, output: 2 } } } },
  );
  const alice = as('alice');
  const unpriced = await spend(alice, 'u-', 1_000_000, 'my-local-model');
  assert.equal(unpriced.second.status, 'completed', 'calls without a price cost nothing');
  const run = await spend(alice, 'p-', 2000);
  assert.equal(run.second.status, 'failed');
  assert.match(run.second.error ?? '', /^Daily cost budget exceeded: 0\.002 of 0\.002 US dollars/);
  assertRefused(await alice.run('after'), 'cost_usd', 0.002, 0.002);
});

test('over_limit: demo: once the tokens are spent, the next run is a demo and all its tasks run', async (t) => {
  const { as } = await quotaServer(t, { tokens_per_day: 1000, over_limit: 'demo' });
  const alice = as('alice');
  await spend(alice, 'a-', 1500);
  const demo = await spend(alice, 'd-', 1500);
  assert.equal(demo.answer.error, undefined, JSON.stringify(demo.answer));
  assert.deepEqual([demo.first.status, demo.second.status], ['completed', 'completed']);
  assert.equal(demo.second.result?.demo_mode, true);
  const status = await alice.ok<{ tokens: unknown }>('quotas.status', {});
  assert.deepEqual(status.tokens, { used: 1500, limit: 1000 }, 'a demo calls no model');
});
