import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';

/** How long a server took from spawn to its first healthy `/health`, and its RSS once idle. */
export interface StartFigures {
  ms: number;
  rss_mb: number;
}

const IDLE_MS = 2000;
const GIVE_UP_MS = 60_000;

/**
 * Spawns `node ...args` in `cwd` (a server listening on `port`), polls `GET /health` every 5 ms
 * until it answers 200, waits {@link IDLE_MS} and reads the process's resident memory, then
 * stops it (SIGTERM). Every server of the `startup` scenario is started this one way.
 */
export async function timeStart(cwd: string, args: string[], port: number): Promise<StartFigures> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  try {
    let ms: number | undefined;
    while (ms === undefined) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${stderr.slice(-500)}`);
      if (performance.now() - started > GIVE_UP_MS) throw new Error(`${args.join(' ')}: no healthy /health`);
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy) ms = performance.now() - started;
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(child.pid)], { encoding: 'utf8' }).trim());
    return { ms: Math.round(ms), rss_mb: Math.round(kb / 1024) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
