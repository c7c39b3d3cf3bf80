import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, freePort, launchApflow, PROCESS_START_MS, processGone } from '../helpers.ts';
import { daemonProject, env, START_TIMEOUT, started, type Status } from './cli-daemon-setup.ts';
import { getHealth } from './cli-setup.ts';

test('daemon start, status, a refused second start, logs, stop, and status when stopped', async (t) => {
  const { dir, apflow, pidOf } = daemonProject(t);
  const port = await freePort();

  const start = await apflow(['start', '--port', String(port), '--timeout', START_TIMEOUT]);
  assert.equal(start.code, 0, start.stderr);
  const [, pidText, url] = started.exec(start.stdout) ?? assert.fail(`unexpected output: ${start.stdout}`);
  const pid = Number(pidText);
  assert.equal(url, `http://127.0.0.1:${port}`);
  assert.equal(pidOf(), pid, 'the pid file holds the plain pid');
  assert.equal((await getHealth(url)).workers.pid, pid, 'the server answering is the one started');

  const status = await apflow(['status']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as Status;
  assert.deepEqual(
    [report.running, report.pid, report.url, report.health, report.pid_file, report.log_file],
    [true, pid, url, 'ok', join(dir, '.data/apflow.pid'), join(dir, '.data/apflow.log')],
  );

  const again = await apflow(['start', '--port', String(port)]);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    new RegExp(`the daemon is already running \\(pid ${pid}, pid file \\.data/apflow\\.pid\\)`),
  );
  assert.equal(pidOf(), pid, 'the pid file is left alone');

  const logs = await apflow(['logs', '-n', '3']);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.trimEnd().split('\n');
  assert.ok(lines.length <= 3, logs.stdout);
  assert.ok(
    readFileSync(join(dir, '.data/apflow.log'), 'utf8').trimEnd().endsWith(logs.stdout.trimEnd()),
    'the last lines of the log file',
  );
  const all = await apflow(['logs', '--lines', '1000']);
  assert.match(all.stdout, /"msg":"apflow listening"/);

  const stop = await apflow(['stop']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, `apflow daemon stopped (pid ${pid})\n`);
  // Gone, or a zombie until init reaps it (the server's parent, `daemon start`, has exited).
  await eventually(() => processGone(pid), PROCESS_START_MS);
  assert.ok(!existsSync(join(dir, '.data/apflow.pid')), 'the pid file is removed');
  assert.match(readFileSync(join(dir, '.data/apflow.log'), 'utf8'), /"msg":"apflow stopped"/, 'a graceful stop');

  const stopped = await apflow(['status']);
  assert.equal(stopped.code, 3, 'LSB: program is not running');
  assert.deepEqual(JSON.parse(stopped.stdout), {
    running: false,
    pid: null,
    stale_pid_file: false,
    pid_file: join(dir, '.data/apflow.pid'),
    log_file: join(dir, '.data/apflow.log'),
  });
  const stopAgain = await apflow(['stop']);
  assert.deepEqual([stopAgain.code, stopAgain.stdout], [0, 'apflow daemon is not running\n']);
});

test('a stale pid file is replaced, restart keeps the flags with a new pid, logs -f follows the log', async (t) => {
  const { dir, apflow, pidOf } = daemonProject(t);
  const port = await freePort();
  mkdirSync(join(dir, '.data'));
  if (existsSync('/proc/self/cmdline')) {
    // A live process that is not apflow (a pid reused since the daemon died): no daemon either.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => other.kill('SIGKILL'));
    writeFileSync(join(dir, '.data/apflow.pid'), `${other.pid}\n`);
    const foreign = await apflow(['status', '--json']);
    assert.equal(foreign.code, 3);
    assert.deepEqual(JSON.parse(foreign.stdout), {
      running: false,
      pid: other.pid,
      stale_pid_file: true,
      pid_file: join(dir, '.data/apflow.pid'),
      log_file: join(dir, '.data/apflow.log'),
    });
  }
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(dir, '.data/apflow.pid'), `${dead}\n`);
  const stale = await apflow(['status', '--json']);
  assert.equal(stale.code, 3);
  assert.equal((JSON.parse(stale.stdout) as Status).stale_pid_file, true);

  const start = await apflow(['start', '--port', String(port), '--timeout', START_TIMEOUT]);
  assert.equal(start.code, 0, start.stderr);
  assert.match(
    start.stderr,
    new RegExp(`replacing a stale pid file \\.data/apflow\\.pid \\(pid ${dead}, which is no apflow server now\\)`),
  );
  const first = Number(started.exec(start.stdout)?.[1]);
  assert.equal(pidOf(), first);

  const restart = await apflow(['restart', '--timeout', START_TIMEOUT]);
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stdout, new RegExp(`^apflow daemon stopped \\(pid ${first}\\)$`, 'm'));
  const [, secondText, url] = started.exec(restart.stdout) ?? assert.fail(restart.stdout);
  const second = Number(secondText);
  assert.notEqual(second, first);
  await eventually(() => processGone(first), PROCESS_START_MS);
  assert.equal(url, `http://127.0.0.1:${port}`, 'the port it was started with');
  assert.equal((await getHealth(url)).workers.pid, second);

  const stop = await apflow(['stop']);
  assert.equal(stop.code, 0, stop.stderr);

  // The log is quiet now: what -f prints is what the test appends.
  const log = join(dir, '.data/apflow.log');
  appendFileSync(log, 'first marker\n');
  const follower = launchApflow(t, ['daemon', 'logs', '-n', '1', '-f'], { cwd: dir, env });
  await eventually(() => follower.stdout() === 'first marker\n', PROCESS_START_MS);
  appendFileSync(log, 'second marker\n');
  await eventually(() => follower.stdout().endsWith('second marker\n'), PROCESS_START_MS);
  truncateSync(log, 0); // rotated by copytruncate
  appendFileSync(log, 'third marker\n');
  await eventually(() => follower.stdout().endsWith('second marker\nthird marker\n'), PROCESS_START_MS);
  follower.child.kill('SIGINT');
  assert.equal(await follower.exited, 0, follower.stderr());
});

test('daemon start reports a server that dies while starting, with the end of its log', async (t) => {
  const { dir, apflow } = daemonProject(t);
  writeFileSync(join(dir, 'apflow.config.ts'), "export default { plugins: ['./missing-plugin.ts'] };\n");
  const start = await apflow(['start', '--port', String(await freePort()), '--timeout', START_TIMEOUT]);
  assert.equal(start.code, 1);
  assert.match(start.stderr, /missing-plugin\.ts/, 'the log lines saying why');
  assert.match(start.stderr, /apflow: the server exited \(code 1\) before it answered .*\/health/);
  assert.ok(!existsSync(join(dir, '.data/apflow.pid')), 'no pid file left');

  const logs = await apflow(['logs', '--log-file', 'elsewhere.log']);
  assert.equal(logs.code, 1);
  assert.match(logs.stderr, /no log file elsewhere\.log/);
  const wrong = await apflow(['reload']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /unknown action 'daemon reload'/);
});

test('daemon start --foreground serves here; the pid file from the environment reaches it for status and stop', async (t) => {
  const pidFile = 'run/server.pid';
  const { dir, apflow, pidOf } = daemonProject(t, [pidFile]);
  const port = await freePort();
  const files = { ...env, AIPARTNERUPFLOW_DAEMON_PID_FILE: pidFile };
  const server = launchApflow(t, ['daemon', 'start', '--foreground', '--port', String(port)], { cwd: dir, env: files });
  const pid = server.child.pid as number;
  await eventually(() => pidOf(pidFile) === pid, PROCESS_START_MS);
  await eventually(() => getHealth(`http://127.0.0.1:${port}`).catch(() => false), PROCESS_START_MS);
  // It logs to its own standard output (the line may reach the pipe just after /health answers).
  await eventually(() => /"msg":"apflow listening"/.test(server.stdout()), PROCESS_START_MS);

  const status = await apflow(['status'], { env: files });
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as Status;
  assert.deepEqual([report.pid, report.health, report.log_file], [pid, 'ok', 'standard output']);

  const stop = await apflow(['stop'], { env: { APFLOW_DAEMON_PID_FILE: pidFile } });
  assert.equal(stop.stdout, `apflow daemon stopped (pid ${pid})\n`, stop.stderr);
  assert.equal(await server.exited, 0);
  assert.ok(!existsSync(join(dir, pidFile)), 'it removes its pid file as it exits');
});

test('daemon stop kills a server that does not stop within --timeout', async (t) => {
  const { dir, apflow } = daemonProject(t);
  // Stands for a server stuck in its shutdown: it ignores SIGTERM, and its command line reads as apflow's.
  const stuck = spawn(
    process.execPath,
    ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)", 'apflow.js', 'serve'],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => stuck.kill('SIGKILL'));
  let out = '';
  stuck.stdout.on('data', (chunk) => (out += chunk));
  await eventually(() => out.includes('ready'), PROCESS_START_MS);
  mkdirSync(join(dir, '.data'));
  writeFileSync(join(dir, '.data/apflow.pid'), `${stuck.pid}\n`);

  const stop = await apflow(['stop', '--timeout', '0.5']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, new RegExp(`pid ${stuck.pid} did not stop within 0\\.5 s: killing it \\(SIGKILL\\)`));
  assert.equal(stop.stdout, `apflow daemon killed (pid ${stuck.pid})\n`);
  await eventually(() => stuck.signalCode === 'SIGKILL', PROCESS_START_MS);
  assert.ok(!existsSync(join(dir, '.data/apflow.pid')));
});

test('of two daemon starts at once, one starts the server and the other is refused before it spawns one', async (t) => {
  const { dir, apflow, pidOf } = daemonProject(t);
  const port = String(await freePort());
  const both = await Promise.all([0, 1].map(() => apflow(['start', '--port', port, '--timeout', START_TIMEOUT])));
  const winner = both.find((one) => one.code === 0) ?? assert.fail(both.map((one) => one.stderr).join('\n'));
  const loser = both.find((one) => one !== winner);
  assert.equal(loser?.code, 1);
  assert.match(
    loser?.stderr ?? '',
    /another apflow daemon start (is under way|took the pid file)|the daemon is already running/,
  );
  const pid = Number(started.exec(winner.stdout)?.[1]);
  assert.equal(pidOf(), pid);
  const log = readFileSync(join(dir, '.data/apflow.log'), 'utf8');
  assert.equal(log.match(/"msg":"apflow listening"/g)?.length, 1, 'one server started');
  assert.doesNotMatch(log, /EADDRINUSE/, 'no second server tried the port');
});

const noProc = !existsSync('/proc/self/cmdline') && 'no /proc here to read a command line';

test('a running apflow daemon logs -f named by the pid file is no daemon (stale)', { skip: noProc }, async (t) => {
  const { dir, apflow } = daemonProject(t);
  mkdirSync(join(dir, '.data'));
  writeFileSync(join(dir, '.data/apflow.log'), '');
  const follower = launchApflow(t, ['daemon', 'logs', '-f'], { cwd: dir, env });
  writeFileSync(join(dir, '.data/apflow.pid'), `${follower.child.pid}\n`);
  const status = await apflow(['status', '--json']);
  assert.equal(status.code, 3, status.stdout);
  const report = JSON.parse(status.stdout) as Status;
  assert.deepEqual([report.running, report.pid, report.stale_pid_file], [false, follower.child.pid, true]);
  // Only once it follows has it its SIGINT handler: before that, Node's default would end it by the signal.
  appendFileSync(join(dir, '.data/apflow.log'), 'following\n');
  await eventually(() => follower.stdout() === 'following\n', PROCESS_START_MS);
  follower.child.kill('SIGINT');
  assert.equal(await follower.exited, 0);
});
