import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { otherFingerprint, passwordLogin, PASSPHRASE, runSsh, sshApp, sshServer, USER } from './ssh-setup.ts';

test('password auth runs the command: exit_code, stdout, stderr; an unverified host key says so loudly', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const { row, events } = await runSsh(app, {
    ...passwordLogin(server, 'echo "hello $(id -un) $GREETING $APFLOW_MODE"; echo oops >&2'),
    env: { GREETING: "it's here" },
    secret_env: { APFLOW_MODE: 'secret-mode-value' },
  });
  assert.equal(row.status, 'completed', String(row.error));
  const result = row.result as Record<string, unknown>;
  assert.equal(result.exit_code, 0);
  assert.equal(result.signal, null);
  assert.equal(result.success, true);
  // The secret_env value is a secret: the kernel scrubs it from the result even when echoed.
  assert.equal(result.stdout, `hello ${USER} it's here ***\n`);
  assert.equal(result.stderr, 'oops\n');
  assert.equal(result.truncated, false);
  assert.equal(result.host_key_verified, false);
  assert.equal(result.host_key_sha256, server.fingerprint);
  assert.match(String(result.warning), /host key NOT verified/);
  const progress = events.filter((event) => event.type === 'progress').map((event) => event.message);
  assert.ok(
    progress.includes(`connected to 127.0.0.1:${server.port} (host key NOT verified)`),
    JSON.stringify(progress),
  );
  assert.ok(progress.includes('running'), JSON.stringify(progress));
  assert.ok(!JSON.stringify(progress).includes('hello'), 'no output in progress messages');
});

test('env_mode request sends SSH env requests (the server keeps what its AcceptEnv lists)', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const { row } = await runSsh(app, {
    ...passwordLogin(server, 'echo "[$APFLOW_X][$OTHER_Y]"'),
    env: { APFLOW_X: 'sent', OTHER_Y: 'dropped by AcceptEnv' },
    env_mode: 'request',
  });
  assert.equal((row.result as Record<string, unknown>).stdout, '[sent][]\n');
});

test('key auth with the host key pinned by host_key_sha256; an encrypted key with its passphrase', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const base = { host: '127.0.0.1', port: server.port, username: USER, command: 'id -un' };
  const plain = await runSsh(app, { ...base, private_key: server.keys.plain, host_key_sha256: server.fingerprint });
  assert.equal(plain.row.status, 'completed', String(plain.row.error));
  const result = plain.row.result as Record<string, unknown>;
  assert.equal(result.stdout, `${USER}\n`);
  assert.equal(result.host_key_verified, true);
  assert.equal(result.warning, undefined);

  const encrypted = await runSsh(app, { ...base, private_key: server.keys.encrypted, passphrase: PASSPHRASE });
  assert.equal(encrypted.row.status, 'completed', String(encrypted.row.error));
  assert.equal((encrypted.row.result as Record<string, unknown>).stdout, `${USER}\n`);

  const before = server.connections();
  const noPassphrase = await runSsh(app, { ...base, private_key: server.keys.encrypted });
  assert.equal(noPassphrase.row.status, 'failed');
  assert.match(String(noPassphrase.row.error), /^ssh_executor: private_key cannot be used: .*passphrase/);
  assert.equal(server.connections(), before, 'no connection with a key that cannot be read');
});

test('a wrong password fails with a clear message naming no credential', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const { row } = await runSsh(app, { ...passwordLogin(server, 'true'), password: 'not-the-password-123' });
  assert.equal(row.status, 'failed');
  assert.equal(
    row.error,
    `ssh_executor: authentication as ${USER} on 127.0.0.1:${server.port} failed: check the username and the password or key`,
  );
});

test('known_hosts lines (plain, and hashed by ssh-keygen -H) verify the host key', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const file = join(server.dir, 'known_hosts');
  writeFileSync(
    file,
    `# pinned\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBadKeyBadKeyBadKeyBadKeyBadKeyBadKeyBadKey\n${server.knownHostsLine}\n`,
  );
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  const hashed = execFileSync('cat', [file]).toString();
  assert.match(hashed, /^\|1\|/m, 'ssh-keygen hashed the names');
  for (const known_hosts of [server.knownHostsLine, hashed, [server.knownHostsLine]]) {
    const { row } = await runSsh(app, { ...passwordLogin(server, 'echo ok'), known_hosts });
    assert.equal(row.status, 'completed', String(row.error));
    assert.equal((row.result as Record<string, unknown>).host_key_verified, true);
  }
});

test('a host key that does not match is refused before any command runs', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const marker = join(server.work, 'ran');
  const command = `touch ${marker}`;
  const wrong = otherFingerprint(server.dir);
  const pinned = await runSsh(app, { ...passwordLogin(server, command), host_key_sha256: wrong });
  assert.equal(pinned.row.status, 'failed');
  assert.equal(
    pinned.row.error,
    `ssh_executor: 127.0.0.1:${server.port} is refused: its host key ${server.fingerprint} does not match host_key_sha256 (the key changed, or something is in between)`,
  );
  const otherKey = server.knownHostsLine.replace(
    /\S+$/,
    'AAAAC3NzaC1lZDI1NTE5AAAAIO2ynC1SVLeYJ6hvlXbZ5p0VqMUf1CN6cZyYbxjBAbCX',
  );
  const listed = await runSsh(app, { ...passwordLogin(server, command), known_hosts: otherKey });
  assert.equal(listed.row.status, 'failed');
  assert.match(String(listed.row.error), /is not the one known_hosts holds/);
  const absent = await runSsh(app, { ...passwordLogin(server, command), known_hosts: 'example.org ssh-ed25519 AAAA' });
  assert.match(String(absent.row.error), /^ssh_executor: known_hosts has no key for \[127\.0\.0\.1\]:\d+/);
  assert.equal(existsSync(marker), false, 'the command never ran');
});

test('a server asking for the password by keyboard-interactive (PAM) gets it; a wrong one is refused at once', async (t) => {
  const server = await sshServer(t, { keyboardInteractive: true });
  if (!server) return;
  const app = await sshApp(t);
  // A short timeout: an unanswered prompt would end as a retried APF_UNAVAILABLE timeout.
  const right = await runSsh(app, { ...passwordLogin(server, 'id -un'), timeout: 15 });
  assert.equal(right.row.status, 'completed', String(right.row.error));
  assert.equal((right.row.result as Record<string, unknown>).stdout, `${USER}\n`);
  const wrong = await runSsh(app, { ...passwordLogin(server, 'true'), password: 'not-the-password-123', timeout: 15 });
  assert.equal(wrong.row.status, 'failed');
  assert.equal(
    wrong.row.error,
    `ssh_executor: authentication as ${USER} on 127.0.0.1:${server.port} failed: check the username and the password or key`,
  );
});

test("a task's known_hosts cannot override the key ssh.known_hosts pins: every source must accept it", async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  // The operator pins another key (K1) for this host; the task lists the key the server shows (K2).
  const operatorPin = server.knownHostsLine.replace(
    /\S+$/,
    'AAAAC3NzaC1lZDI1NTE5AAAAIO2ynC1SVLeYJ6hvlXbZ5p0VqMUf1CN6cZyYbxjBAbCX',
  );
  const app = await sshApp(t, { ssh: { known_hosts: operatorPin } });
  const marker = join(server.work, 'ran');
  for (const pin of [{ known_hosts: server.knownHostsLine }, { host_key_sha256: server.fingerprint }]) {
    const { row } = await runSsh(app, { ...passwordLogin(server, `touch ${marker}`), ...pin });
    assert.equal(row.status, 'failed', JSON.stringify(pin));
    assert.equal(
      row.error,
      `ssh_executor: 127.0.0.1:${server.port} is refused: its host key ${server.fingerprint} is not the one ssh.known_hosts holds (the key changed, or something is in between)`,
    );
  }
  assert.equal(existsSync(marker), false, 'the command never ran');
});
