/**
 * Shared setup of the ssh_executor tests (not run itself): a real OpenSSH server (Debian's
 * openssh-server) started per test as `sshd -D -f <config> -p <port>` on 127.0.0.1, with a host
 * key and user keys made by ssh-keygen, for the local user `apflowssh` (password and keys).
 * Needs root (to create that user, set its password and let sshd switch to it); otherwise the
 * test is skipped with the reason.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { eventually, freePort, started, testApp } from '../../../test/helpers.ts';

const SSHD = '/usr/sbin/sshd';
/** The test user sshd logs in (created when missing). */
export const USER = 'apflowssh';
/** Its password (a test account reachable only through the test's own sshd on 127.0.0.1). */
export const PASSWORD = 'apflow-ssh-test-pw-4Tq9Zr';
/** The passphrase of the encrypted user key. */
export const PASSPHRASE = 'apflow-ssh-passphrase-Lm3x';

/** A running test sshd. */
export interface SshServer {
  port: number;
  /** The test's folder (0755): keys and config. */
  dir: string;
  /** A folder the remote user may write to (pid files, markers). */
  work: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`). */
  fingerprint: string;
  /** The known_hosts line for `[127.0.0.1]:port`. */
  knownHostsLine: string;
  /** Private keys (OpenSSH format) of the user: `plain`, and `encrypted` with {@link PASSPHRASE}. */
  keys: { plain: string; encrypted: string; plainFile: string };
  /** What sshd wrote to stderr so far (with -e). */
  log(): string;
  /** Connections sshd accepted so far (the start-up probe included). */
  connections(): number;
}

/** Why no test sshd can run here, or undefined when it can. */
function unavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not found: install openssh-server (apt-get install -y openssh-server)`;
  if (process.getuid?.() !== 0) return `the test sshd needs root (to create the user ${USER} and switch to it)`;
  return undefined;
}

function ensureUser(): void {
  const exists = () => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  // Another test file may create it at the same moment: then useradd fails and the user exists.
  if (!exists()) {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', USER], { stdio: 'pipe' });
    } catch (error) {
      if (!exists()) throw error;
    }
  }
  execFileSync('chpasswd', { input: `${USER}:${PASSWORD}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}

const keygen = (file: string, passphrase = '') =>
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'apflow-test', '-f', file]);

/**
 * Starts a test sshd; skips the test (with the reason) when none can run here. With
 * `keyboardInteractive`, the password is taken only through keyboard-interactive (PAM) prompts.
 */
export async function sshServer(
  t: TestContext,
  options: { keyboardInteractive?: boolean } = {},
): Promise<SshServer | undefined> {
  const reason = unavailable();
  if (reason) {
    t.skip(reason);
    return undefined;
  }
  ensureUser();
  // sshd's privilege separation folder (Debian's unit creates it; nothing does without systemd).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'apflow-ssh-'));
  chmodSync(dir, 0o755);
  const work = join(dir, 'work');
  mkdirSync(work);
  const uid = Number(execFileSync('id', ['-u', USER]).toString());
  chownSync(work, uid, uid);
  for (const name of ['host', 'user', 'user-enc']) keygen(join(dir, name), name === 'user-enc' ? PASSPHRASE : '');
  const pub = (name: string) => readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
  writeFileSync(join(dir, 'authorized_keys'), `${pub('user')}\n${pub('user-enc')}\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'ListenAddress 127.0.0.1',
      'PidFile none',
      // keyboardInteractive: passwords only as PAM prompts (OpenSSH offers keyboard-interactive through PAM).
      ...(options.keyboardInteractive
        ? ['UsePAM yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication yes']
        : ['UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no']),
      'PubkeyAuthentication yes',
      'PermitRootLogin no',
      `AllowUsers ${USER}`,
      // The keys live in a temporary folder that StrictModes would judge unsafe (/tmp is world-writable).
      'StrictModes no',
      'AcceptEnv APFLOW_*',
      // VERBOSE: one 'Connection from' line per connection, which the tests count.
      'LogLevel VERBOSE',
    ].join('\n'),
  );
  const port = await freePort();
  const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  sshd.stderr.on('data', (chunk) => (log += chunk));
  t.after(() => {
    sshd.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  await eventually(async () => {
    if (sshd.exitCode !== null) throw new Error(`sshd exited: ${log}`);
    return await accepts(port);
  }, 10_000);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host.pub')])
    .toString()
    .split(' ')[1] as string;
  const [keyType, blob] = pub('host').split(' ');
  return {
    port,
    dir,
    work,
    fingerprint,
    knownHostsLine: `[127.0.0.1]:${port} ${keyType} ${blob}`,
    keys: {
      plain: readFileSync(join(dir, 'user'), 'utf8'),
      encrypted: readFileSync(join(dir, 'user-enc'), 'utf8'),
      plainFile: join(dir, 'user'),
    },
    log: () => log,
    connections: () => log.split('\n').filter((line) => line.startsWith('Connection from')).length,
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A second host key's fingerprint (for a server that is not the one pinned). */
export function otherFingerprint(dir: string): string {
  const file = join(dir, `other-${Date.now()}`);
  keygen(file);
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`])
    .toString()
    .split(' ')[1] as string;
}

/**
 * An app loading the extension the way users do (`plugins: ['@apflow/ssh']`, resolved from
 * node_modules), allowed to reach 127.0.0.1 unless `config` says otherwise.
 */
export function sshApp(
  t: TestContext,
  config: Record<string, unknown> = {},
  options: Parameters<typeof testApp>[2] = {},
) {
  return testApp(t, { plugins: ['@apflow/ssh'], outbound: { allow_hosts: ['127.0.0.1'] }, ...config }, options);
}

/** The row of a task after its run. */
export type Row = NonNullable<Awaited<ReturnType<App['tasks']['get']>>>;

/** Runs one ssh_executor task to its end; resolves with its row and the events of the run. */
export async function runSsh(
  app: App,
  inputs: Record<string, unknown>,
  options: { demo?: boolean; params?: Record<string, unknown> } = {},
): Promise<{ row: Row; events: TaskEvent[] }> {
  const tree = await app.engine.createTree([
    { name: 'ssh', schemas: { method: 'ssh_executor' }, inputs, params: options.params ?? {} },
  ]);
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = started(await app.engine.execute(tree.id, { demo: options.demo }));
  await done;
  stop();
  const row = await app.tasks.get(tree.id);
  if (!row) throw new Error('the task is gone');
  return { row, events };
}

/** Inputs logging in to `server` as the test user with the password. */
export function passwordLogin(server: SshServer, command: string): Record<string, unknown> {
  return { host: '127.0.0.1', port: server.port, username: USER, password: PASSWORD, command };
}
