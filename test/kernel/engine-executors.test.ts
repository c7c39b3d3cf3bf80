import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDatabases } from '../databases.ts';
import { aborted, counters } from '../fixtures/executors/_runs.ts';
import { engineApp, runTree } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('executor choice: params.executor_id, then schemas.method, then the name; no match names what exists', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        {
          id: 'r',
          name: 'noop',
          schemas: { method: 'missing' },
          params: { executor_id: 'echo' },
          inputs: { via: 'executor_id' },
        },
        { id: 'm', name: 'nothing', parent_id: 'r', schemas: { method: 'echo' }, inputs: { via: 'method' } },
        { id: 'n', name: 'echo', parent_id: 'r', inputs: { via: 'name' } },
        { id: 'x', name: 'mystery', parent_id: 'r', schemas: { method: 'does_not_exist' } },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.deepEqual((get('nothing')?.result as Record<string, unknown>).via, 'method');
      assert.deepEqual((get('echo')?.result as Record<string, unknown>).via, 'name');
      assert.equal((get('noop')?.result as Record<string, unknown>).via, 'executor_id');
      assert.equal(get('mystery')?.status, 'failed');
      assert.match(
        get('mystery')?.error ?? '',
        /^No executor for task 'mystery': asked for schemas\.method 'does_not_exist', name 'mystery'; registered executors: .*echo.*noop/,
      );
    });

    test('inputs are checked against the executor schema before it runs', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'typed' }, inputs: { name: 42 } },
        { id: 'ok', name: 'ok', parent_id: 'r', schemas: { method: 'typed' }, inputs: { name: 'Ada' } },
      ]);
      const [r, ok] = ['r', 'ok'].map((name) => [...rows.values()].find((row) => row.name === name));
      assert.equal(ok?.status, 'completed');
      assert.deepEqual(ok?.result, { greeting: 'hello Ada' });
      assert.equal(r?.status, 'failed');
      assert.match(r?.error ?? '', /^Invalid inputs for executor 'typed': \/name must be string/);
    });

    test('params.timeout_s fails a task that runs too long, and aborts its executor', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        { id: 'slow', name: 'slow', schemas: { method: 'hang' }, params: { timeout_s: 0.2 } },
      ]);
      const slow = [...rows.values()][0];
      assert.equal(slow?.status, 'failed');
      assert.equal(slow?.error, 'Timeout: the task ran longer than 0.2s');
      assert.ok(slow && aborted().has(slow.id));
    });

    test('params.retries retries with backoff, then succeeds; exhausted retries fail', async (t) => {
      const app = await engineApp(t, await db.create(t));
      counters().clear();
      const { rows, events } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        {
          id: 'twice',
          name: 'twice',
          parent_id: 'r',
          schemas: { method: 'flaky' },
          inputs: { failures: 2 },
          params: { retries: 2, retry_delay_s: 0.02 },
        },
        {
          id: 'never',
          name: 'never',
          parent_id: 'r',
          schemas: { method: 'flaky' },
          inputs: { failures: 5 },
          params: { retries: 1, retry_delay_s: 0.02 },
        },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.equal(get('twice')?.status, 'completed');
      assert.deepEqual(get('twice')?.result, { attempts: 3 });
      assert.equal(get('twice')?.attempts, 3);
      assert.equal(get('never')?.status, 'failed');
      assert.equal(get('never')?.error, 'flaky failure 2');
      assert.equal(get('never')?.attempts, 2);
      assert.ok(events.some((event) => event.message?.startsWith('Retrying in 0.02s (attempt 2 of 3)')));
    });
  });
}
