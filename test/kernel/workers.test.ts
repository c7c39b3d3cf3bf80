import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { eventually, freePort, launchApflow, PROCESS_START_MS, tempProject } from '../helpers.ts';
import { call, flatten, type TreeTask } from '../scale-out/servers.ts';
import { sseSubscribe, streamProblems, wsConnection, type TreeSubscription } from '../scale-out/subscribers.ts';

const pidSleep = `import { defineExecutor, Type } from 'apflow';
export default defineExecutor({
  id: 'pid_sleep',
  inputSchema: Type.Object({ ms: Type.Number() }),
  async execute(inputs, ctx) {
    await new Promise((resolve) => setTimeout(resolve, inputs.ms));
    return { pid: process.pid, task: ctx.task_id };
  },
});
`;

test(
  '--workers 2 on SQLite: both workers run tasks of one tree, a subscriber on either worker gets every event, /health covers both',
  { timeout: 150_000 },
  async (t) => {
    const dir = tempProject(t, {
      'executors/pid-sleep.ts': pidSleep,
      // Two slots per worker: 40 tasks of one tree need both workers to finish in time.
      'apflow.config.json': JSON.stringify({ engine: { concurrency: 2, lease_s: 2 } }),
    });
    const port = await freePort();
    const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'], {
      cwd: dir,
    });
    await eventually(
      () => proc.stdout().includes('"workers":2') && proc.stdout().includes('"apflow listening"'),
      PROCESS_START_MS,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`);
    });
    const base = `http://127.0.0.1:${port}`;
    const tasks = [
      { id: 'w-root', name: 'root', params: { executor_id: 'pid_sleep' }, inputs: { ms: 1 } },
      ...Array.from({ length: 40 }, (_, i) => ({
        id: `w-${i}`,
        name: `leaf ${i}`,
        parent_id: 'w-root',
        params: { executor_id: 'pid_sleep' },
        inputs: { ms: 40 },
      })),
    ];
    await call(base, 'tasks.create', tasks);
    // Fresh connections land on either worker; one of each kind of stream is enough to reach both.
    const subs: TreeSubscription[] = await Promise.all(
      [0, 1, 2, 3].map((i) => sseSubscribe(t, base, `sse${i}`, 'w-root')),
    );
    const ws = await wsConnection(t, base, 'ws');
    subs.push(await ws.subscribe('w-root'));
    await call(base, 'tasks.execute', { task_id: 'w-root' });

    const tree = await eventually(async () => {
      const root = await call<TreeTask>(base, 'tasks.tree', { task_id: 'w-root' });
      return root.status === 'completed' ? root : undefined;
    }, 60_000);
    const all = flatten(tree);
    assert.equal(all.length, 41);
    assert.ok(all.every((task) => task.status === 'completed'));
    const pids = new Set<number>();
    for (const task of all) {
      const full = await call<{ result: { pid: number } }>(base, 'tasks.get', { task_id: task.id });
      pids.add(full.result.pid);
    }
    assert.equal(pids.size, 2, 'both workers ran tasks of the tree');

    await eventually(() => subs.every((sub) => sub.ended), 20_000).catch(() => undefined);
    const log = await sseSubscribe(t, base, 'replay', 'w-root');
    await eventually(() => log.ended, 10_000);
    const problems = subs.flatMap((sub) =>
      streamProblems(sub, log.events as TaskEvent[]).map((problem) => `${sub.label}: ${problem}`),
    );
    assert.deepEqual(problems, []);
    assert.ok(log.events.filter((event) => event.type === 'task_completed').length === 41);

    const health = (await (await fetch(`${base}/health`)).json()) as {
      workers: { count: number };
      cluster: { engines: number; ready: number };
      tasks: { running: number };
    };
    assert.equal(health.workers.count, 2);
    assert.equal(health.cluster.engines, 2, 'both workers keep a heartbeat in the database');
    assert.equal(health.tasks.running, 0);
  },
);
