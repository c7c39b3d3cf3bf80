import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testApp } from '../helpers.ts';
import { type Json, runTree, runOne, completed, failed } from './builtin-executors-setup.ts';

describe('aggregate_results_executor', () => {
  test('as the root over its children, it gathers each dependency result under its id', async (t) => {
    const app = await testApp(t);
    const before = Date.now();
    const { byName, outcome } = await runTree(app, [
      {
        id: 'agg',
        name: 'agg',
        schemas: { method: 'aggregate_results_executor' },
        inputs: { own: 'input' },
        dependencies: ['cpu', 'mem'],
      },
      {
        id: 'cpu',
        name: 'cpu',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'cpu' },
      },
      {
        id: 'mem',
        name: 'mem',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'memory' },
      },
    ]);
    assert.equal(outcome.status, 'completed');
    const [cpu, mem] = [byName('cpu'), byName('mem')];
    const result = completed<{ summary: string; timestamp: string; results: Json; result_count: number }>(
      byName('agg'),
    );
    assert.deepEqual(Object.keys(result), ['summary', 'timestamp', 'results', 'result_count']);
    assert.equal(result.summary, 'Task Results Aggregation');
    assert.deepEqual(
      result.results,
      { [cpu.id]: completed(cpu), [mem.id]: completed(mem) },
      'only dependency results, not its own inputs',
    );
    assert.equal(result.result_count, 2);
    assert.match(result.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(result.timestamp) >= before && Date.parse(result.timestamp) <= Date.now());
  });

  test('a failed optional dependency is left out of the results', async (t) => {
    const app = await testApp(t);
    const { byName } = await runTree(app, [
      {
        id: 'agg',
        name: 'agg',
        schemas: { method: 'aggregate_results_executor' },
        dependencies: ['ok', { id: 'bad', required: false }],
      },
      {
        id: 'ok',
        name: 'ok',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'cpu' },
      },
      {
        id: 'bad',
        name: 'bad',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'gpu' },
      },
    ]);
    failed(byName('bad'));
    const result = completed<{ results: Json; result_count: number }>(byName('agg'));
    assert.deepEqual(Object.keys(result.results), [byName('ok').id]);
    assert.equal(result.result_count, 1);
  });

  test('with no dependencies it aggregates its own inputs', async (t) => {
    const app = await testApp(t);
    const inputs = { first: { value: 1 }, second: 'two', third: [3] };
    const result = completed<{ summary: string; results: Json; result_count: number }>(
      await runOne(app, 'aggregate_results_executor', inputs),
    );
    assert.equal(result.summary, 'Task Results Aggregation');
    assert.deepEqual(result.results, inputs);
    assert.equal(result.result_count, 3);
  });
});
