// Issue 24, end to end: a task that spawns 100 children at run time, on two `apflow serve`
// processes sharing one PostgreSQL database. Each child runs exactly once (counted from the side
// effects the executors append to a file), and the parent resumes once with all 100 results.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshPostgres } from '../scale-out/servers.ts';
import { skip } from './scale-out-setup.ts';
import { call, countOf, createTree, durableProject, effects, startServer, treeTasks } from './durable-setup.ts';

const N = 100;

/** How many `tally` runs this server completed, from its Prometheus metrics. */
async function tallyRuns(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (entry) =>
        entry.startsWith('apflow_task_duration_seconds_count{') &&
        entry.includes('executor="tally"') &&
        entry.includes('outcome="completed"'),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('durable runs on two servers sharing one PostgreSQL', { skip }, () => {
  test(
    'spawn of 100 children: each runs exactly once, the parent resumes once with every result',
    { timeout: 90_000 },
    async (t) => {
      const url = await freshPostgres(t);
      const project = durableProject(t);
      const [a, b] = await Promise.all([startServer(t, project, url), startServer(t, project, url)]);
      const rootId = await createTree(a.base, [
        { id: 'fan', name: 'fan', schemas: { method: 'fan-out' }, inputs: { log: project.log, n: N, ms: 20 } },
      ]);

      const outcome = await call<{ status: string; result?: unknown; error?: unknown }>(a.base, 'tasks.execute', {
        task_id: rootId,
      });
      assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
      const result = outcome.result as { n: number; sum: number; statuses: string[] };
      assert.equal(result.n, N);
      assert.equal(result.sum, (N * (N - 1)) / 2, 'the parent got every child result (0 + 1 + … + 99)');
      assert.deepEqual(new Set(result.statuses), new Set(['completed']));

      // Read on the other server: the same tree, every spawned child an ordinary finished task.
      const tasks = await treeTasks(b.base, rootId);
      const children = tasks.filter((task) => task.parent_id === rootId);
      assert.equal(children.length, N, 'the spawned children are in the tree');
      assert.ok(
        tasks.every((task) => task.status === 'completed' && task.waiting === undefined),
        JSON.stringify(tasks.filter((task) => task.status !== 'completed')),
      );
      const root = tasks.find((task) => task.id === rootId);
      assert.deepEqual(root?.result, result);

      const tallies = effects(project).filter((line) => line.what === 'tally');
      assert.equal(tallies.length, N, 'one run per child, no more');
      assert.deepEqual(
        new Set(tallies.map((line) => line.task)),
        new Set(children.map((child) => child.id)),
        'each child ran exactly once',
      );
      assert.equal(countOf(project, 'resumed', rootId), 1, 'the parent resumed once, with all the results');
      // Code outside ctx.step runs on each run of the executor: once to spawn, once to resume.
      assert.equal(countOf(project, 'run', rootId), 2);

      // Which server ran what, from each server's own metrics: the runs add up to one per child.
      const ran = await Promise.all([a, b].map((server) => tallyRuns(server.base)));
      assert.equal(
        ran.reduce((x, y) => x + y, 0),
        N,
        `runs per server: ${ran.join(' + ')}`,
      );
      t.diagnostic(`children run per server: ${ran.join(' + ')}`);
    },
  );
});
