// An idempotent tasks.execute whose server dies while the run it began goes on: the retry on
// another server follows that run to its answer instead of creating and running a second tree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshPostgres } from '../scale-out/servers.ts';
import { skip } from './scale-out-setup.ts';
import { attempt, call, countOf, crash, durableProject, startServer, waitForTask } from './durable-setup.ts';

describe('idempotency keys across a crash, on two servers sharing one PostgreSQL', { skip }, () => {
  test(
    "kill -9 of the server holding a key: the retry follows the first attempt's run, no second tree",
    { timeout: 120_000 },
    async (t) => {
      const url = await freshPostgres(t);
      const project = durableProject(t);
      const [a, b] = await Promise.all([startServer(t, project, url), startServer(t, project, url)]);
      const params = {
        idempotency_key: 'deploy-42',
        tasks: [{ id: 'nap-1', name: 'nap', schemas: { method: 'nap' }, inputs: { s: 4, log: project.log } }],
      };
      // The first attempt waits for the run's end on server a, which dies meanwhile.
      const first = attempt(a.base, 'tasks.execute', params).catch(() => undefined);
      await waitForTask(b.base, 'nap-1', (task) => task.waiting?.kind === 'sleep');
      await crash(a);
      await first;

      // The retry (on b) waits out the dead attempt's hold, then follows its run.
      const retried = await call<{ status: string; root_task_id: string; result?: { late_ms?: number } }>(
        b.base,
        'tasks.execute',
        params,
      );
      assert.equal(retried.status, 'completed');
      assert.equal(retried.root_task_id, 'nap-1', 'the first attempt’s tree, not a second one');
      const { total } = await call<{ total: number }>(b.base, 'tasks.count', {});
      assert.equal(total, 1);
      assert.equal(countOf(project, 'before'), 1);
      assert.equal(countOf(project, 'after'), 1);
      // Settled now: one more retry answers at once with the same answer.
      assert.deepEqual(await call(b.base, 'tasks.execute', params), retried);
    },
  );
});
