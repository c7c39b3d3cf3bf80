import { spawn } from 'node:child_process';
import { freePort, sleep, spawnApflow, waitListening, type SpawnedApflow } from '../helpers.ts';
import { killGroup, type Sandbox } from './sandbox.ts';

/** A server the shell and JSON blocks talk to, with the folder its commands run in. */
export interface DocServer {
  /** Where it runs: its SQLite file is `.data/apflow.sqlite` here, as the guides say. */
  dir: string;
  port: number;
  base: string;
  /** The environment its commands share with it (the JWT secret of the authenticated one). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A secret for the server with authentication on (a test value, never a real one). */
const TEST_JWT_SECRET = 'docs-test-secret-0123456789abcdef0123456789';

/** Starts `apflow serve` in a fresh folder of the sandbox, as a user would in their project. */
export async function startDocServer(sandbox: Sandbox, name: string, env: Record<string, string>): Promise<DocServer> {
  const dir = sandbox.project(name);
  const port = await freePort();
  const proc: SpawnedApflow = spawnApflow(['serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: dir,
    env: { ...env, APFLOW_LOG_FORMAT: 'json' },
    detached: true,
  });
  const base = await waitListening(proc).catch(async (error: unknown) => {
    killGroup(proc.child.pid, 'SIGKILL');
    throw error;
  });
  return {
    dir,
    port,
    base,
    env,
    async stop() {
      killGroup(proc.child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(proc.child.pid, 'SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** The servers of one run: the plain one starts at once, the authenticated one when a block needs it. */
export function docServers(sandbox: Sandbox) {
  // Awaited by the blocks that need them; the empty handlers only keep an early failure from
  // going unhandled before then.
  const plain = startDocServer(sandbox, 'work', {});
  plain.catch(() => {});
  let auth: Promise<DocServer> | undefined;
  const startAuth = () => {
    const starting = startDocServer(sandbox, 'work-auth', { APFLOW_JWT_SECRET: TEST_JWT_SECRET });
    starting.catch(() => {});
    return starting;
  };
  return {
    plain: () => plain,
    auth: () => (auth ??= startAuth()),
    async stopAll() {
      const started = [plain, ...(auth ? [auth] : [])];
      await Promise.all(started.map(async (server) => (await server.catch(() => null))?.stop()));
    },
  };
}

/**
 * Runs a block that serves until stopped (`serve` mode): `script` runs in its own process group,
 * must answer `GET /health` with 200 on `port` within a minute, and is then stopped.
 */
export async function serveUntilHealthy(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<{ ok: boolean; output: string }> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
    cwd,
    env: { ...env, APFLOW_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let ok = false;
  const deadline = Date.now() + 60_000;
  while (!ok && Date.now() < deadline && child.exitCode === null) {
    ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((answer) => answer.status === 200)
      .catch(() => false);
    if (!ok) await sleep(200);
  }
  killGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  return { ok, output };
}
