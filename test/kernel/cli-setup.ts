/** Shared setup of the CLI tests: launching apflow in a temp project, its log lines, ports and health. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { HealthReport } from 'apflow';
import {
  eventually,
  freePort,
  repoRoot,
  launchApflow,
  PROCESS_START_MS,
  tempProject,
  type SpawnApflowOptions,
  type SpawnedApflow,
} from '../helpers.ts';

/** The package.json fields the CLI tests check. */
export const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
/** The apflow-server entry point. */
export const serverBin = join(repoRoot, 'bin', 'apflow-server.js');
// A database file inside each test's own project folder (relative paths from the env resolve from the cwd).
const baseEnv = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };

/** A local plugin whose GET /slow logs that it started, then answers after 700 ms. */
export const slowProject = {
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

/** Starts apflow with a SQLite database inside the test's project folder. */
export function launch(t: TestContext, args: string[], options: SpawnApflowOptions = {}): SpawnedApflow {
  return launchApflow(t, args, { ...options, env: { ...baseEnv, ...options.env } });
}

/** Runs apflow to completion. */
export async function run(t: TestContext, args: string[], options: SpawnApflowOptions = {}) {
  const proc = launch(t, args, options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** The JSON log lines printed so far. */
export function logLines(proc: SpawnedApflow): Record<string, unknown>[] {
  return proc
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for a log line with message `msg` (and the given fields); returns it. */
export async function waitLog(
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
export function tryConnect(port: number): Promise<string> {
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
export async function occupy(t: TestContext): Promise<number> {
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(port, '127.0.0.1', resolve);
  });
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return port;
}

/** GET /health, which must answer 200. */
export async function getHealth(base: string, init: RequestInit = {}): Promise<HealthReport> {
  const response = await fetch(`${base}/health`, init);
  assert.equal(response.status, 200);
  return (await response.json()) as HealthReport;
}

/** Checks stderr is a single line without a stack trace; returns it. */
export function assertOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  return lines[0] as string;
}

/** Checks apflow exited 1 with one line naming the port in use. */
export function assertPortInUse(result: { code: number | string; stdout: string; stderr: string }, port: number): void {
  assert.equal(result.code, 1, result.stderr);
  const line = assertOneLine(result.stderr);
  assert.match(line, new RegExp(`port ${port}\\b`));
  assert.match(line, /APF_PORT_IN_USE/);
  assert.doesNotMatch(result.stdout, /^\s+at /m);
}

/** Starts `--workers 2` with the slow plugin and a GET /slow in flight; returns the worker serving it. */
export async function workersWithSlowRequest(t: TestContext) {
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

/** Checks the slow request finished and the primary and both workers stopped cleanly. */
export async function assertFinishedAndStopped(
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
