import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig } from '../config/resolve-config.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { packageRoot } from '../internal/package-root.ts';
import {
  claimPidFile,
  daemonProcess,
  ensureFolders,
  removeDaemonFiles,
  shown,
  STARTING_PID,
  writeDaemonFiles,
  type DaemonPaths,
  type ServeFlags,
} from './daemon-files.ts';
import { fetchHealth, localUrl, portAnswers } from './daemon-http.ts';
import { lastLines } from './daemon-logs.ts';
import { serve, serveOverrides } from './serve.ts';

/** Lines of the log shown when the server dies while starting. */
const FAILED_START_LINES = 30;

/**
 * `apflow daemon start`: `apflow serve` with these flags as a detached process (its own session,
 * output appended to the log file), its pid in the pid file; returns once it answers `/health`
 * (exit 0), or fails when it dies first (its log's end on stderr) or does not answer within
 * `timeoutS` (it is left running: a slow start is not a failed one).
 */
export async function startDaemon(paths: DaemonPaths, flags: ServeFlags, timeoutS: number): Promise<void> {
  const url = await claimStart(paths, flags);
  const logFrom = sizeOf(paths.logFile);
  let exited: string | undefined;
  let child: ChildProcess | undefined;
  let spawned: number;
  try {
    if (await portAnswers(url)) {
      throw new ApflowError('APF_PORT_IN_USE', {
        message: `port ${new URL(url).port} is already in use (${url} answers): another server listens there`,
      });
    }
    const server = (child = spawnServer(flags, paths.logFile));
    server.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code ?? '?'}`));
    spawned = await new Promise<number>((resolve, reject) => {
      server.once('spawn', () => resolve(server.pid as number)); // a spawned child has a pid
      server.once('error', reject);
    });
    server.unref();
    writeDaemonFiles(paths, { pid: spawned, url, log_file: paths.logFile, flags });
  } catch (error) {
    child?.kill('SIGTERM');
    removeDaemonFiles(paths, STARTING_PID);
    throw error;
  }

  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      removeDaemonFiles(paths, spawned);
      const { text } = lastLines(paths.logFile, FAILED_START_LINES, logFrom);
      process.stderr.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
      throw new ApflowError('APF_UNAVAILABLE', {
        message: `the server exited (${exited}) before it answered ${url}/health; the end of its log (${shown(paths.logFile)}) is above`,
      });
    }
    const health = await fetchHealth(url);
    // With one process the answer must be this child's own (not another server's on the same port).
    if (health && (health.workers.count > 1 || health.workers.pid === spawned)) {
      process.stdout.write(`apflow daemon started (pid ${spawned}, ${url}, log ${shown(paths.logFile)})\n`);
      return;
    }
    await sleep(250);
  }
  throw new ApflowError('APF_UNAVAILABLE', {
    message: `the server (pid ${spawned}) did not answer ${url}/health within ${timeoutS} s; it is left running: see 'apflow daemon logs', or 'apflow daemon stop'`,
  });
}

/**
 * `apflow daemon start --foreground`: `apflow serve` in this process, its pid in the pid file
 * while it runs (so `daemon status` and `daemon stop` reach it), its log on standard output.
 */
export async function runForeground(paths: DaemonPaths, flags: ServeFlags): Promise<void> {
  const url = await claimStart(paths, flags);
  try {
    writeDaemonFiles(paths, { pid: process.pid, url, log_file: 'standard output', flags });
  } catch (error) {
    removeDaemonFiles(paths, STARTING_PID);
    throw error;
  }
  process.on('exit', () => removeDaemonFiles(paths, process.pid));
  await serve({ host: flags.host, port: flags.port, workers: flags.workers, config: flags.config });
}

/**
 * Refuses when the pid file names a live server (or a start under way), clears a stale one,
 * checks the configuration (so a bad flag or file fails here, not in the background), takes the
 * pid file (claimPidFile) and returns the URL it will serve.
 */
async function claimStart(paths: DaemonPaths, flags: ServeFlags): Promise<string> {
  const found = daemonProcess(paths);
  if (found.state === 'running') {
    throw new ApflowError('APF_CONFLICT', {
      message: `the daemon is already running (pid ${found.pid}, pid file ${shown(paths.pidFile)}): 'apflow daemon stop' or 'apflow daemon restart'`,
    });
  }
  if (found.state === 'starting') {
    throw new ApflowError('APF_CONFLICT', {
      message: `another apflow daemon start is under way (pid file ${shown(paths.pidFile)}): see 'apflow daemon status'`,
    });
  }
  if (found.state === 'stale') {
    const named =
      found.pid === null
        ? 'no pid'
        : found.pid === STARTING_PID
          ? 'left by a start that did not finish'
          : `pid ${found.pid}, which is no apflow server now`;
    process.stderr.write(`apflow: replacing a stale pid file ${shown(paths.pidFile)} (${named})\n`);
    // Only if it still holds what was read: another start may have replaced it meanwhile.
    removeDaemonFiles(paths, found.pid);
  }
  const { config } = await resolveConfig({ cli: serveOverrides(flags) });
  if (config.server.port === 0) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'the daemon needs a fixed port (port 0 picks a free one, which the daemon commands could not find)',
    });
  }
  ensureFolders(paths);
  claimPidFile(paths);
  return localUrl(config.server.host, config.server.port);
}

/** `node <this apflow> serve FLAGS` in its own session, with its output appended to `logFile`. */
function spawnServer(flags: ServeFlags, logFile: string): ChildProcess {
  const bin = fileURLToPath(new URL('bin/apflow.js', packageRoot));
  const args = (['host', 'port', 'workers', 'config'] as const).flatMap((key) =>
    flags[key] === undefined ? [] : [`--${key}`, flags[key]],
  );
  const log = openSync(logFile, 'a');
  try {
    return spawn(process.execPath, [bin, 'serve', ...args], {
      cwd: process.cwd(),
      env: process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log); // the child has its own copy
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
