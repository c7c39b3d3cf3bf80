import { daemonProcess, readDaemonState, shown, type DaemonPaths } from './daemon-files.ts';
import { fetchHealth } from './daemon-http.ts';
import { printJson } from './print.ts';

/** Exit code of `daemon status` when no daemon runs (an LSB init script's "program is not running"). */
export const NOT_RUNNING_EXIT = 3;

/**
 * `apflow daemon status`: running (exit 0) or not (exit 3, as an LSB init script's status), with
 * the server's own /health answer when it gives one; JSON when `json`, else a few lines of text.
 */
export async function daemonStatus(paths: DaemonPaths, json: boolean): Promise<void> {
  const found = daemonProcess(paths);
  if (found.state !== 'running') {
    process.exitCode = NOT_RUNNING_EXIT;
    const stalePid = found.state === 'stale' ? found.pid : null;
    if (json) {
      return printJson({
        running: false,
        pid: stalePid,
        stale_pid_file: found.state === 'stale',
        pid_file: paths.pidFile,
        log_file: paths.logFile,
      });
    }
    const stale =
      found.state === 'starting'
        ? ` yet (a daemon start is under way)`
        : found.state !== 'stale'
          ? ''
          : stalePid === null
            ? ` (stale pid file ${shown(paths.pidFile)}: it holds no pid)`
            : ` (stale pid file ${shown(paths.pidFile)}: pid ${stalePid} is no apflow server now)`;
    return void process.stdout.write(`apflow daemon is not running${stale}\n`);
  }
  const state = readDaemonState(paths, found.pid);
  const health = state ? await fetchHealth(state.url) : null;
  const uptime = Math.max(0, Math.round((Date.now() - found.since.getTime()) / 1000));
  const report = {
    running: true,
    pid: found.pid,
    url: state?.url ?? null,
    started_at: found.since.toISOString(),
    uptime_s: uptime,
    health: health?.status ?? null,
    version: health?.version ?? null,
    pid_file: paths.pidFile,
    log_file: state?.log_file ?? paths.logFile,
  };
  if (json) return printJson(report);
  const answer = health ? `health: ${health.status}` : 'no answer on /health';
  process.stdout.write(
    `apflow daemon is running (pid ${found.pid}, up ${duration(uptime)})\n` +
      `  url       ${report.url ?? 'unknown (no state file)'} (${answer})\n` +
      `  log       ${report.log_file === 'standard output' ? report.log_file : shown(report.log_file)}\n` +
      `  pid file  ${shown(paths.pidFile)}\n`,
  );
}

function duration(seconds: number): string {
  const parts = [
    [Math.floor(seconds / 86400), 'd'],
    [Math.floor(seconds / 3600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ] as const;
  const from = parts.findIndex(([amount]) => amount > 0);
  return from === -1
    ? '0s'
    : parts
        .slice(from, from + 2)
        .map(([amount, unit]) => `${amount}${unit}`)
        .join(' ');
}
