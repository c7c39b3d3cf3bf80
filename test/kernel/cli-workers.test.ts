import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, sleep, tempProject } from '../helpers.ts';
import {
  launch,
  run,
  logLines,
  waitLog,
  occupy,
  getHealth,
  assertPortInUse,
  workersWithSlowRequest,
  assertFinishedAndStopped,
} from './cli-setup.ts';

test(
  '--workers 2: both workers answer on one port; SIGTERM stops the primary and both workers',
  { timeout: 90_000 },
  async (t) => {
    const port = await freePort();
    const proc = launch(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2']);
    await waitLog(proc, 'apflow listening', { workers: 2, pid: proc.child.pid });
    const base = `http://127.0.0.1:${port}`;

    const pids = new Set<number>();
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 200 && pids.size < 2 && Date.now() < deadline; i++) {
      const health = await getHealth(base, { headers: { connection: 'close' } });
      assert.equal(health.workers.count, 2);
      pids.add(health.workers.pid);
    }
    assert.equal(pids.size, 2, `answers came from ${[...pids].join(', ')}`);
    assert.ok(!pids.has(proc.child.pid as number), 'the primary serves no request itself');

    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.stderr());
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
    assert.equal(logLines(proc).filter((line) => line.msg === 'apflow stopped').length, 3, proc.stdout());
  },
);

test(
  '--workers 2: a signal to the whole process group (Ctrl-C, systemd) lets running requests finish',
  { timeout: 90_000 },
  async (t) => {
    const { proc, slow } = await workersWithSlowRequest(t);
    process.kill(-(proc.child.pid as number), 'SIGTERM');
    await assertFinishedAndStopped(proc, slow);
  },
);

test(
  '--workers 2: a worker that had the signal before its primary still finishes its request',
  { timeout: 90_000 },
  async (t) => {
    // The same as a process-group signal, with the order fixed: the worker first, the primary later.
    const { proc, slow, worker } = await workersWithSlowRequest(t);
    assert.notEqual(worker, proc.child.pid);
    process.kill(worker, 'SIGTERM');
    await sleep(100);
    proc.child.kill('SIGTERM');
    await assertFinishedAndStopped(proc, slow);
  },
);

test('--workers 2 on a port already in use: exit 1 and one line naming the port', { timeout: 90_000 }, async (t) => {
  const port = await occupy(t);
  assertPortInUse(await run(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2']), port);
});

test(
  '--workers 2 on a port already in use, a worker still starting when the primary has stopped: one line, no stack trace',
  { timeout: 90_000 },
  async (t) => {
    // The second worker holds its event loop just before it listens, until long after the first
    // failed and the primary stopped the server: its listen then writes to the primary's closed
    // channel (EPIPE) before it can hear that the primary is gone.
    const project = tempProject(t, {
      'late-worker.ts': `import cluster from 'node:cluster';
import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'late-worker',
  setup(app) {
    if (cluster.worker?.id !== 2) return;
    app.http.addHook('onReady', (done) => {
      const until = Date.now() + 2000;
      while (Date.now() < until);
      done();
    });
  },
});
`,
      'apflow.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({ plugins: ['./late-worker.ts'] });
`,
    });
    const port = await occupy(t);
    const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'];
    const proc = launch(t, args, { cwd: project });
    const code = await proc.exited;
    // The late worker outlives the primary: it writes to the same stderr, later.
    await sleep(3000);
    assertPortInUse({ code, stdout: proc.stdout(), stderr: proc.stderr() }, port);
  },
);
