import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PROCESS_START_MS, processGone, runApflow, tempProject, type SpawnApflowOptions } from '../helpers.ts';

// A database file inside each test's own project folder; no daemon variables from the machine running the tests.
export const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };
// `daemon start` waits for /health; each process compiles its TypeScript on load, slowly on a busy CI machine.
export const START_TIMEOUT = String(PROCESS_START_MS / 1000);

export interface Status {
  running: boolean;
  pid: number | null;
  url?: string | null;
  health?: string | null;
  stale_pid_file?: boolean;
  pid_file: string;
  log_file: string;
}

/**
 * A project folder for daemons, whose servers (every apflow process a pid file named, and their
 * process groups) are killed when the test ends, however it ends.
 */
export function daemonProject(t: TestContext, pidFiles: string[] = ['.data/apflow.pid']) {
  const dir = tempProject(t);
  const seen = new Set<number>();
  const remember = () => {
    for (const file of pidFiles) {
      const pid = Number(readIfThere(join(dir, file)).trim());
      if (pid > 1 && isApflow(pid)) seen.add(pid);
    }
  };
  // Registered after tempProject's: after() hooks run last-registered first, so before the folder goes.
  t.after(() => {
    remember();
    for (const pid of seen) {
      if (!isApflow(pid)) continue; // the pid may be another program's by now
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  });
  const apflow = async (args: string[], options: SpawnApflowOptions = {}) => {
    const result = await runApflow(['daemon', ...args], { cwd: dir, ...options, env: { ...env, ...options.env } });
    remember();
    return result;
  };
  return { dir, apflow, pidOf: (file = '.data/apflow.pid') => Number(readIfThere(join(dir, file)).trim()) };
}

/** Whether `pid` runs apflow (where there is no /proc to tell: whether it is alive). */
function isApflow(pid: number): boolean {
  if (!existsSync('/proc/self/cmdline')) return !processGone(pid);
  return readIfThere(`/proc/${pid}/cmdline`).includes('apflow.js');
}

function readIfThere(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** `daemon start`'s line: its pid and URL. */
export const started = /^apflow daemon started \(pid (\d+), (http:\/\/127\.0\.0\.1:\d+), log \.data\/apflow\.log\)$/m;
