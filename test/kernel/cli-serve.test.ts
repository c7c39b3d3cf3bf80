import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, freePort, tempProject, waitListening } from '../helpers.ts';
import {
  slowProject,
  launch,
  run,
  logLines,
  waitLog,
  tryConnect,
  occupy,
  getHealth,
  assertPortInUse,
} from './cli-setup.ts';

test('serve answers /health and exits 0 on SIGTERM, logging "apflow stopped"', { timeout: 90_000 }, async (t) => {
  const port = await freePort();
  const proc = launch(t, ['serve', '--host', '127.0.0.1', '--port', String(port)]);
  const base = await waitListening(proc);
  assert.equal(base, `http://127.0.0.1:${port}`);
  const health = await getHealth(base);
  assert.equal(health.status, 'ok');
  assert.ok(health.plugins.includes('system'), String(health.plugins));
  assert.equal(health.workers.pid, proc.child.pid);

  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0, proc.stderr());
  assert.ok(
    logLines(proc).some((line) => line.msg === 'apflow stopped'),
    proc.stdout(),
  );
  assert.equal(proc.stderr(), '');
});

test('SIGTERM lets a running request finish and refuses new connections', { timeout: 90_000 }, async (t) => {
  const port = await freePort();
  const proc = launch(t, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: tempProject(t, slowProject),
  });
  const base = await waitListening(proc);
  let settled = false;
  const slow = fetch(`${base}/slow`).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  }));
  void slow.finally(() => (settled = true)).catch(() => undefined);
  await waitLog(proc, 'slow request started', {}, 20_000);

  proc.child.kill('SIGTERM');
  await eventually(async () => (await tryConnect(port)) === 'ECONNREFUSED', 2000);
  assert.equal(settled, false, 'new connections are refused while /slow is still running');
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.slow, 'done');
  assert.equal(await proc.exited, 0, proc.stderr());
  assert.ok(logLines(proc).some((line) => line.msg === 'apflow stopped'));
  assert.equal(proc.stderr(), '');
});

test('a port already in use: exit 1 and one line naming the port', { timeout: 90_000 }, async (t) => {
  const port = await occupy(t);
  assertPortInUse(await run(t, ['serve', '--host', '127.0.0.1', '--port', String(port)]), port);
});

test('the port: flag > environment > config file; AIPARTNERUPFLOW_PORT is an alias', { timeout: 90_000 }, async (t) => {
  const [filePort, envPort, flagPort, aliasPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const project = () => tempProject(t, { 'apflow.config.yaml': `server:\n  port: ${filePort}\n` });
  const started = [
    launch(t, ['serve', '--host', '127.0.0.1'], { cwd: project(), env: { APFLOW_PORT: String(envPort) } }),
    launch(t, ['serve', '--host', '127.0.0.1', '--port', String(flagPort)], {
      cwd: project(),
      env: { APFLOW_PORT: String(envPort) },
    }),
    launch(t, ['serve', '--host', '127.0.0.1'], { env: { AIPARTNERUPFLOW_PORT: String(aliasPort) } }),
  ];
  const bases = await Promise.all(started.map((proc) => waitListening(proc)));
  assert.deepEqual(
    bases,
    [envPort, flagPort, aliasPort].map((port) => `http://127.0.0.1:${port}`),
  );
  for (const base of bases) assert.equal((await getHealth(base)).status, 'ok');
});
