import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { configFileEnvNames } from '../config/config-env.ts';
import { findConfigFile } from '../config/load-config-file.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';

/** Where `apflow daemon` keeps its pid and log files. */
export interface DaemonPaths {
  pidFile: string;
  logFile: string;
  /** Beside the pid file: how the daemon was started (its URL and serve flags), for status and restart. */
  stateFile: string;
}

/** The serve flags a daemon was started with (kept so `restart` without flags starts the same server). */
export interface ServeFlags {
  host?: string;
  port?: string;
  workers?: string;
  config?: string;
}

/** What `daemon start` records beside the pid file. */
export interface DaemonState {
  pid: number;
  url: string;
  log_file: string;
  flags: ServeFlags;
}

/** The daemon the pid file names, as far as this machine can tell. */
export type DaemonProcess =
  | { state: 'none' }
  | { state: 'starting' }
  | { state: 'stale'; pid: number | null }
  | { state: 'running'; pid: number; since: Date };

/** What `daemon start` writes in the pid file it takes before the server has a pid. */
export const STARTING_PID = 0;

/**
 * How long a pid file holding STARTING_PID counts as a start under way: it holds it from the
 * claim to the spawn (well under a second); an older one was left by a start that died.
 */
const STARTING_MS = 60_000;

const ENV_NAMES = {
  pid: ['APFLOW_DAEMON_PID_FILE', 'AIPARTNERUPFLOW_DAEMON_PID_FILE'],
  log: ['APFLOW_DAEMON_LOG_FILE', 'AIPARTNERUPFLOW_DAEMON_LOG_FILE'],
} as const;

/**
 * The daemon's files: a flag wins, then the environment (APFLOW_DAEMON_PID_FILE / _LOG_FILE, or
 * the original's AIPARTNERUPFLOW_ names), then `.data/apflow.pid|.log` in the project folder (the
 * config file's folder, else the current one: where the SQLite default lives). Relative paths are
 * the current folder's.
 */
export function daemonPaths(options: { pidFile?: string; logFile?: string; config?: string }): DaemonPaths {
  const cwd = process.cwd();
  const fromEnv = (names: readonly string[]) => names.map((name) => process.env[name]).find(Boolean);
  const dataDir = projectDataDir(options.config);
  const pidFile = resolve(cwd, options.pidFile ?? fromEnv(ENV_NAMES.pid) ?? join(dataDir, 'apflow.pid'));
  const logFile = resolve(cwd, options.logFile ?? fromEnv(ENV_NAMES.log) ?? join(dataDir, 'apflow.log'));
  return { pidFile, logFile, stateFile: `${pidFile}.json` };
}

/**
 * The project's `.data` folder, where the SQLite default lives: in the folder of the config file
 * (`config`, else APFLOW_CONFIG…, else the one found from here), else in the current one.
 */
export function projectDataDir(config?: string): string {
  const explicit = config ?? configFileEnvNames.map((name) => process.env[name]).find(Boolean);
  const configFile = findConfigFile(process.cwd(), explicit);
  return join(configFile ? dirname(configFile) : process.cwd(), '.data');
}

/** Creates the folders of the daemon's files. */
export function ensureFolders(paths: DaemonPaths): void {
  mkdirSync(dirname(paths.pidFile), { recursive: true });
  mkdirSync(dirname(paths.logFile), { recursive: true });
}

/** Whether the pid file names a live apflow server, a dead (or foreign) process, or nothing. */
export function daemonProcess(paths: DaemonPaths): DaemonProcess {
  let text: string;
  let since: Date;
  try {
    text = readFileSync(paths.pidFile, 'utf8');
    since = statSync(paths.pidFile).mtime;
  } catch {
    return { state: 'none' };
  }
  const pid = /^\s*(\d+)\s*$/.test(text) ? Number(text) : null;
  if (pid === STARTING_PID && Date.now() - since.getTime() < STARTING_MS) return { state: 'starting' };
  if (pid === null || pid <= 1 || !isAlive(pid) || !looksLikeApflow(pid)) return { state: 'stale', pid };
  return { state: 'running', pid, since };
}

/**
 * Whether process `pid` exists (one of another user counts: it cannot be signalled, but it is
 * there). A zombie (exited, never reaped: its parent is gone and init does not reap, as in some
 * containers) does not.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // a Node system error always has a code
  }
  try {
    // The state is the first field after the command name, which is in parentheses and may hold any character.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc here
  }
}

/**
 * Guards against a reused pid: on Linux the process's command line must be apflow's `serve` (the
 * server `daemon start` spawns) or `daemon start|restart --foreground` (not any other `apflow
 * daemon …`, such as a `daemon logs -f` running now). Where there is no /proc, any live pid passes.
 */
function looksLikeApflow(pid: number): boolean {
  if (!existsSync('/proc/self/cmdline')) return true;
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return true; // gone between the checks, or hidden (hidepid): the signal tells
  }
  const script = args.findIndex((arg) => /^apflow(\.js)?$/.test(basename(arg)));
  const [command, ...rest] = script === -1 ? [] : args.slice(script + 1);
  if (command === 'serve') return true;
  return command === 'daemon' && rest.includes('--foreground') && (rest.includes('start') || rest.includes('restart'));
}

/**
 * Takes the pid file for a start (holding STARTING_PID until the server has a pid): it must not
 * exist (the caller cleared a stale one), so of two starts at once the second is refused here,
 * before it spawns anything.
 */
export function claimPidFile(paths: DaemonPaths): void {
  try {
    writeFileSync(paths.pidFile, `${STARTING_PID}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // a Node system error always has a code
    throw new ApflowError('APF_CONFLICT', {
      message: `another apflow daemon start took the pid file ${shown(paths.pidFile)} meanwhile`,
    });
  }
}

/** Puts the server's pid in the pid file `claimPidFile` took (replaced whole: no reader sees it empty), and the state beside it. */
export function writeDaemonFiles(paths: DaemonPaths, state: DaemonState): void {
  const temporary = `${paths.pidFile}.${process.pid}.tmp`;
  writeFileSync(temporary, `${state.pid}\n`);
  renameSync(temporary, paths.pidFile);
  writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** The state `daemon start` recorded for `pid`, or undefined (none, unreadable, or another pid's). */
export function readDaemonState(paths: DaemonPaths, pid: number): DaemonState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(paths.stateFile, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.pid !== pid || typeof value.url !== 'string' || !isRecord(value.flags))
    return undefined;
  const flags: ServeFlags = {};
  for (const key of ['host', 'port', 'workers', 'config'] as const) {
    const flag = value.flags[key];
    if (typeof flag === 'string') flags[key] = flag;
  }
  return { pid, url: value.url, log_file: String(value.log_file ?? paths.logFile), flags };
}

/** Removes the pid file and its state, if they still name `pid` (or whatever they name, when `pid` is null). */
export function removeDaemonFiles(paths: DaemonPaths, pid: number | null = null): void {
  if (pid !== null) {
    try {
      if (Number(readFileSync(paths.pidFile, 'utf8').trim()) !== pid) return;
    } catch {
      // no pid file: remove the state alone
    }
  }
  rmSync(paths.pidFile, { force: true });
  rmSync(paths.stateFile, { force: true });
}

/** `path` relative to the current folder when it lies inside it (shorter messages), else absolute. */
export function shown(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && inside.split(sep)[0] !== '..' && !isAbsolute(inside) ? inside : path;
}
