import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { HealthReport } from 'apflow';
import {
  eventually,
  freePort,
  repoRoot,
  sleep,
  launchApflow,
  PROCESS_START_MS,
  tempProject,
  waitListening,
  type SpawnApflowOptions,
  type SpawnedApflow,
} from '../helpers.ts';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
const serverBin = join(repoRoot, 'bin', 'apflow-server.js');
// A database file inside each test's own project folder (relative paths from the env resolve from the cwd).
const baseEnv = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };

/** A local plugin whose GET /slow logs that it started, then answers after 700 ms. */
const slowProject = {
  'slow-plugin.ts': `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'slow',
  setup(app) {
    app.http.get('/slow', async () => {
      app.log.info('slow request started');
      await new Promise((resolve) => setTimeout(resolve, 700));
      return { slow: 'done', pid: process.pid };
    });
  },
});
`,
  'apflow.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({ plugins: ['./slow-plugin.ts'] });
`,
};

function launch(t: TestContext, args: string[], options: SpawnApflowOptions = {}): SpawnedApflow {
  return launchApflow(t, args, { ...options, env: { ...baseEnv, ...options.env } });
}

/** Runs apflow to completion. */
async function run(t: TestContext, args: string[], options: SpawnApflowOptions = {}) {
  const proc = launch(t, args, options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** The JSON log lines printed so far. */
function logLines(proc: SpawnedApflow): Record<string, unknown>[] {
  return proc
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for a log line with message `msg` (and the given fields); returns it. */
async function waitLog(
  proc: SpawnedApflow,
  msg: string,
  fields: Record<string, unknown> = {},
  timeoutMs = PROCESS_START_MS,
): Promise<Record<string, unknown>> {
  const found = () =>
    logLines(proc).find(
      (line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value),
    );
  return eventually(found, timeoutMs).catch((error: Error) => {
    throw new Error(`no '${msg}' log line: ${error.message}\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`);
  }) as Promise<Record<string, unknown>>;
}

/** Opens and closes a raw TCP connection: 'connected' or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Holds `port` on 127.0.0.1 with a plain TCP server until the test ends. */
async function occupy(t: TestContext): Promise<number> {
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(port, '127.0.0.1', resolve);
  });
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return port;
}

async function getHealth(base: string, init: RequestInit = {}): Promise<HealthReport> {
  const response = await fetch(`${base}/health`, init);
  assert.equal(response.status, 200);
  return (await response.json()) as HealthReport;
}

function assertOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  return lines[0] as string;
}

function assertPortInUse(result: { code: number | string; stdout: string; stderr: string }, port: number): void {
  assert.equal(result.code, 1, result.stderr);
  const line = assertOneLine(result.stderr);
  assert.match(line, new RegExp(`port ${port}\\b`));
  assert.match(line, /APF_PORT_IN_USE/);
  assert.doesNotMatch(result.stdout, /^\s+at /m);
}

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

test('--help, --version and an unknown command', { timeout: 90_000 }, async (t) => {
  const [help, serveHelp, versionOut, unknown, unknownFlag] = await Promise.all([
    run(t, ['--help']),
    run(t, ['serve', '--help']),
    run(t, ['--version']),
    run(t, ['frobnicate']),
    run(t, ['serve', '--frobnicate']),
  ]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^\s+serve\s+Start the API server$/m);
  for (const output of [help.stdout, serveHelp.stdout]) {
    for (const flag of ['--host <host>', '--port <port>', '--workers <n>', '--reload', '--config <file>']) {
      assert.ok(output.includes(flag), `help lists ${flag}:\n${output}`);
    }
  }
  assert.doesNotMatch(help.stdout, /\[\.\.\.args\]/, 'the catch-all command is not shown as a command');
  assert.equal(serveHelp.code, 0, serveHelp.stderr);

  assert.equal(versionOut.code, 0);
  assert.ok(versionOut.stdout.includes(pkg.version), versionOut.stdout);

  assert.equal(unknown.code, 1);
  assert.match(assertOneLine(unknown.stderr), /unknown command 'frobnicate'/);
  assert.equal(unknownFlag.code, 1);
  assert.match(assertOneLine(unknownFlag.stderr), /--frobnicate/);
});

test(
  'bin/apflow-server.js starts the same server; package.json names all four commands',
  { timeout: 90_000 },
  async (t) => {
    assert.deepEqual(pkg.bin, {
      apflow: 'bin/apflow.js',
      'apflow-server': 'bin/apflow-server.js',
      aipartnerupflow: 'bin/apflow.js',
      'aipartnerupflow-server': 'bin/apflow-server.js',
    });
    for (const file of Object.values(pkg.bin)) {
      assert.ok(existsSync(join(repoRoot, file)), file);
      assert.ok(
        readFileSync(join(repoRoot, file), 'utf8').startsWith('#!/usr/bin/env node\n'),
        `${file} has a node shebang`,
      );
    }

    const port = await freePort();
    const proc = launch(t, ['--port', String(port), '--host', '127.0.0.1'], { bin: serverBin });
    const base = await waitListening(proc);
    assert.equal(base, `http://127.0.0.1:${port}`);
    assert.equal((await getHealth(base)).status, 'ok');
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.stderr());
  },
);

test('bad flags and config: one clear error naming the flag, key or file', { timeout: 90_000 }, async (t) => {
  const [badPort, badConfig, missing, badProtocol] = await Promise.all([
    run(t, ['serve', '--port', 'abc']),
    run(t, ['serve'], { cwd: tempProject(t, { 'apflow.config.yaml': 'server:\n  port: "abc"\n' }) }),
    run(t, ['serve', '--config', 'missing.yaml']),
    run(t, ['serve', '--protocol', 'rest']),
  ]);
  assert.equal(badPort.code, 1);
  assert.match(assertOneLine(badPort.stderr), /--port must be a whole number, got 'abc'/);

  assert.equal(badConfig.code, 1);
  assert.ok(
    badConfig.stderr.split('\n').some((line) => /server\.port/.test(line) && /must be integer/.test(line)),
    badConfig.stderr,
  );
  assert.doesNotMatch(badConfig.stderr, /^\s+at /m);

  assert.equal(missing.code, 1);
  assert.match(assertOneLine(missing.stderr), /config file not found: \S*missing\.yaml/);

  // The original's --protocol a2a|mcp is taken (both are always served); anything else is refused.
  assert.equal(badProtocol.code, 1);
  assert.match(
    assertOneLine(badProtocol.stderr),
    /--protocol must be a2a or mcp \(apflow serves both at once\), got 'rest'/,
  );
});

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

/** Starts `--workers 2` with the slow plugin and a GET /slow in flight; returns the worker serving it. */
async function workersWithSlowRequest(t: TestContext) {
  const port = await freePort();
  const proc = launch(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'], {
    cwd: tempProject(t, slowProject),
  });
  await waitLog(proc, 'apflow listening', { workers: 2, pid: proc.child.pid });
  const slow = fetch(`http://127.0.0.1:${port}/slow`).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  }));
  void slow.catch(() => undefined);
  const started = await waitLog(proc, 'slow request started', {}, 20_000);
  return { proc, slow, worker: started.pid as number };
}

async function assertFinishedAndStopped(
  proc: SpawnedApflow,
  slow: Promise<{ status: number; body: Record<string, unknown> }>,
) {
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.slow, 'done');
  assert.equal(await proc.exited, 0, proc.stderr());
  assert.equal(logLines(proc).filter((line) => line.msg === 'apflow stopped').length, 3, proc.stdout());
  assert.equal(proc.stderr(), '');
}

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
