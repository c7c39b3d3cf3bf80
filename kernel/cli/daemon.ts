import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApflowError } from '../errors/apflow-error.ts';
import {
  daemonPaths,
  daemonProcess,
  isAlive,
  readDaemonState,
  removeDaemonFiles,
  shown,
  type DaemonPaths,
  type ServeFlags,
} from './daemon-files.ts';
import { followLog, lastLines } from './daemon-logs.ts';
import { runForeground, startDaemon } from './daemon-start.ts';
import { daemonStatus } from './daemon-status.ts';
import { wantsJson } from './print.ts';
import { serve } from './serve.ts';

/** Options of `apflow daemon` (cac's camel-cased flags). */
export interface DaemonOptions {
  config?: string;
  host?: string | number;
  port?: string | number;
  workers?: string | number;
  foreground?: boolean;
  pidFile?: string;
  logFile?: string;
  timeout?: string | number;
  lines?: string | number;
  follow?: boolean;
  json?: boolean;
}

const DEFAULT_TIMEOUT_S = 30;
const DEFAULT_LINES = 50;

/**
 * `apflow daemon start|stop|status|restart|logs` (the original's command): `apflow serve` in the
 * background with a pid file and a log file, for machines without systemd or Docker.
 */
export async function daemonCommand(action: string, options: DaemonOptions): Promise<void> {
  // The workers of `start --foreground --workers N` run this same command line: they only serve.
  if (cluster.isWorker) return serve(serveFlags(options));
  const paths = daemonPaths({ pidFile: options.pidFile, logFile: options.logFile, config: options.config });
  const timeoutS = positiveNumber('--timeout', options.timeout, DEFAULT_TIMEOUT_S);
  if (action === 'start') return start(paths, serveFlags(options), options.foreground === true, timeoutS);
  if (action === 'stop') return stop(paths, timeoutS);
  if (action === 'status') return daemonStatus(paths, wantsJson(options));
  if (action === 'restart') {
    const found = daemonProcess(paths);
    const before = found.state === 'running' ? readDaemonState(paths, found.pid)?.flags : undefined;
    if (found.state === 'running') await stop(paths, timeoutS);
    // Flags given now win; the others are those the stopped daemon was started with.
    return start(paths, { ...before, ...serveFlags(options) }, options.foreground === true, timeoutS);
  }
  if (action === 'logs')
    return logs(paths, wholeNumber('--lines', options.lines, DEFAULT_LINES), options.follow === true);
  throw new ApflowError('APF_INVALID_PARAMS', {
    message: `unknown action 'daemon ${action}' (use: start | stop | status | restart | logs)`,
  });
}

function start(paths: DaemonPaths, flags: ServeFlags, foreground: boolean, timeoutS: number): Promise<void> {
  return foreground ? runForeground(paths, flags) : startDaemon(paths, flags, timeoutS);
}

/** SIGTERM (a graceful stop), then SIGKILL to its process group after `timeoutS`; "not running" is no error. */
async function stop(paths: DaemonPaths, timeoutS: number): Promise<void> {
  const found = daemonProcess(paths);
  if (found.state !== 'running') {
    if (found.state === 'stale') removeDaemonFiles(paths, found.pid);
    const why =
      found.state === 'stale'
        ? ` (removed a stale pid file, ${shown(paths.pidFile)})`
        : found.state === 'starting'
          ? ` yet (a daemon start is under way: stop it once it has started)`
          : '';
    process.stdout.write(`apflow daemon is not running${why}\n`);
    return;
  }
  const { pid } = found;
  signal(pid, 'SIGTERM');
  let killed = false;
  if (!(await gone(pid, timeoutS * 1000))) {
    killed = true;
    process.stderr.write(`apflow: pid ${pid} did not stop within ${timeoutS} s: killing it (SIGKILL)\n`);
    // Its whole process group: a server started by `daemon start` leads one, with its workers in it.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      signal(pid, 'SIGKILL');
    }
    await gone(pid, 10_000);
  }
  removeDaemonFiles(paths, pid);
  process.stdout.write(`apflow daemon ${killed ? 'killed' : 'stopped'} (pid ${pid})\n`);
}

/** The log's last `count` lines; with `follow`, then what is appended, until SIGINT or SIGTERM. */
async function logs(paths: DaemonPaths, count: number, follow: boolean): Promise<void> {
  let from = 0;
  try {
    const last = lastLines(paths.logFile, count);
    process.stdout.write(last.text);
    from = last.size;
  } catch {
    const where = `no log file ${shown(paths.logFile)}`;
    if (!follow) {
      throw new ApflowError('APF_NOT_FOUND', {
        message: `${where}: no daemon was started with it (see --log-file, APFLOW_DAEMON_LOG_FILE)`,
      });
    }
    process.stderr.write(`apflow: ${where} yet: waiting for it\n`);
  }
  if (!follow) return;
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop); // piped into a reader that left (head, a closed pager)
  await followLog(paths.logFile, from, (chunk) => process.stdout.write(chunk), stopped.signal);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return; // it ended meanwhile
    throw new ApflowError('APF_FORBIDDEN', {
      message: `cannot signal pid ${pid} (${(error as NodeJS.ErrnoException).code ?? 'error'}): stop it as the user it runs as`,
    });
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

function serveFlags(options: DaemonOptions): ServeFlags {
  const text = (value: string | number | undefined) => (value === undefined ? undefined : String(value));
  const flags: ServeFlags = {
    host: text(options.host),
    port: text(options.port),
    workers: text(options.workers),
    config: options.config,
  };
  return Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined));
}

function positiveNumber(flag: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${flag} must be a number of seconds above 0, got '${value}'`,
    });
  }
  return number;
}

function wholeNumber(flag: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(String(value))) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: `${flag} must be a whole number, got '${value}'` });
  }
  return Number(value);
}
