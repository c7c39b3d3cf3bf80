import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, memoryLog, testApp } from '../../../test/helpers.ts';
import { PASSPHRASE, PASSWORD, passwordLogin, runSsh, sshApp, sshServer, USER } from './ssh-setup.ts';

test('by default the outbound policy refuses 127.0.0.1 with a clear APF_FORBIDDEN message', async (t) => {
  const app = await testApp(t, { plugins: ['@apflow/ssh'] });
  const port = await freePort();
  const { row } = await runSsh(app, { host: '127.0.0.1', port, username: USER, password: PASSWORD, command: 'true' });
  assert.equal(row.status, 'failed');
  assert.equal(
    row.error,
    `ssh_executor: 127.0.0.1:${port} is refused: 127.0.0.1 is not a public address (allow it with outbound.allow_hosts or outbound.allow_private)`,
  );
  const named = await runSsh(app, { host: 'localhost', port, username: USER, password: PASSWORD, command: 'true' });
  assert.match(String(named.row.error), /^ssh_executor: localhost:\d+ is refused: localhost resolves to /);
});

test('demo mode returns a demo result without connecting', async (t) => {
  const app = await testApp(t, { plugins: ['@apflow/ssh'] });
  const { row } = await runSsh(
    app,
    { host: 'build.example.com', username: 'ci', command: 'make test' },
    { demo: true },
  );
  assert.equal(row.status, 'completed', String(row.error));
  const result = row.result as Record<string, unknown>;
  assert.equal(result.demo_mode, true);
  assert.equal(result.exit_code, 0);
  assert.equal(result.success, true);
  assert.equal(result.stdout, 'demo output of: make test\n');
  assert.match(String(result.note), /^demo: no connection was made to build\.example\.com/);
});

test('bad inputs fail before connecting, each with its fix', async (t) => {
  const app = await testApp(t, { plugins: ['@apflow/ssh'], outbound: { allow_hosts: ['127.0.0.1'] } });
  const base = { host: '127.0.0.1', port: await freePort(), username: USER, command: 'true' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [base, /^ssh_executor: no credentials: give password, private_key or key_file$/],
    [{ ...base, password: 'x', env: { 'BAD-NAME': '1' } }, /^ssh_executor: env name "BAD-NAME" is not a variable name/],
    [{ ...base, private_key: 'not a key' }, /^ssh_executor: private_key cannot be used: /],
    [
      { ...base, password: 'x', host_key_sha256: 'MD5:00' },
      /^Invalid inputs for executor 'ssh_executor': .*host_key_sha256/,
    ],
    [{ username: USER, command: 'true' }, /^Invalid inputs for executor 'ssh_executor': .*host/],
    // Past 2^31 ms a Node timer fires at once: a timeout over a day would end the run immediately.
    [{ ...base, password: 'x', timeout: 86_401 }, /^Invalid inputs for executor 'ssh_executor': .*timeout/],
  ];
  for (const [inputs, expected] of cases) {
    const { row } = await runSsh(app, inputs);
    assert.equal(row.status, 'failed');
    assert.match(String(row.error), expected);
  }
});

test('ssh.require_host_key refuses a task that pins no host key, and runs one that does', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t, { ssh: { require_host_key: true } });
  const before = server.connections();
  const refused = await runSsh(app, passwordLogin(server, 'echo ran'));
  assert.equal(refused.row.status, 'failed');
  assert.match(
    String(refused.row.error),
    /^ssh_executor: 127\.0\.0\.1:\d+ is refused: this server requires a verified host key \(config ssh\.require_host_key\)/,
  );
  assert.equal(server.connections(), before, 'nothing connected');
  const pinned = await runSsh(app, { ...passwordLogin(server, 'echo ran'), host_key_sha256: server.fingerprint });
  assert.equal((pinned.row.result as Record<string, unknown>).stdout, 'ran\n');
  // A host the config's known_hosts lists is verified without the task pinning it.
  const listed = await sshApp(t, { ssh: { require_host_key: true, known_hosts: server.knownHostsLine } });
  const fromConfig = await runSsh(listed, passwordLogin(server, 'echo ran'));
  assert.equal(
    (fromConfig.row.result as Record<string, unknown>).host_key_verified,
    true,
    String(fromConfig.row.error),
  );
});

test('key_file is read only inside ssh.key_dirs (none by default)', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const keys = join(server.dir, 'keys');
  mkdirSync(keys);
  copyFileSync(server.keys.plainFile, join(keys, 'id_ed25519'));
  symlinkSync(server.keys.plainFile, join(keys, 'link-out'));
  const base = { host: '127.0.0.1', port: server.port, username: USER, command: 'id -un' };

  const closed = await sshApp(t);
  const none = await runSsh(closed, { ...base, key_file: join(keys, 'id_ed25519') });
  assert.match(
    String(none.row.error),
    /^ssh_executor: key_file is refused: no key folder is allowed on this server \(config ssh\.key_dirs\)/,
  );

  const app = await sshApp(t, { ssh: { key_dirs: [keys] } });
  const inside = await runSsh(app, { ...base, key_file: join(keys, 'id_ed25519') });
  assert.equal((inside.row.result as Record<string, unknown>).stdout, `${USER}\n`, String(inside.row.error));
  for (const path of [
    server.keys.plainFile,
    join(keys, 'link-out'),
    `${keys}/../user`,
    '/etc/shadow',
    join(keys, 'missing'),
  ]) {
    const { row } = await runSsh(app, { ...base, key_file: path });
    assert.equal(
      row.error,
      `ssh_executor: key_file ${path} is refused: it is not an existing file inside a folder of ssh.key_dirs`,
    );
  }
  const relative = await runSsh(app, { ...base, key_file: 'keys/id_ed25519' });
  assert.equal(relative.row.error, 'ssh_executor: key_file must be an absolute path');
});

test('secrets (password, private_key, passphrase, secret_env) reach neither the database file nor the log', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const dir = mkdtempSync(join(tmpdir(), 'apflow-ssh-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = memoryLog();
  const app = await sshApp(
    t,
    { database: { url: `sqlite:${join(dir, 't.db')}` }, log: { level: 'debug' } },
    { logStream: log.stream },
  );
  const envSecret = 'env-secret-value-Q8wz31';
  const byPassword = await runSsh(app, {
    ...passwordLogin(server, 'echo "token=$API_TOKEN"'),
    secret_env: { API_TOKEN: envSecret },
  });
  assert.equal(byPassword.row.status, 'completed', String(byPassword.row.error));
  assert.equal(
    (byPassword.row.result as Record<string, unknown>).stdout,
    'token=***\n',
    'an echoed secret is scrubbed',
  );
  const byKey = await runSsh(app, {
    host: '127.0.0.1',
    port: server.port,
    username: USER,
    private_key: server.keys.encrypted,
    passphrase: PASSPHRASE,
    command: 'true',
  });
  assert.equal(byKey.row.status, 'completed', String(byKey.row.error));

  const keyBody = server.keys.encrypted.split('\n')[2] as string;
  const stored = ['t.db', 't.db-wal']
    .map((name) => join(dir, name))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('\n');
  assert.ok(stored.includes('token=***'), 'the database file was read');
  assert.ok(stored.includes('secret_env'), 'the inputs are stored in it');
  for (const [name, secret] of Object.entries({ PASSWORD, PASSPHRASE, envSecret, keyBody })) {
    assert.ok(!stored.includes(secret), `${name} is in the database file`);
    assert.ok(!log.text().includes(secret), `${name} is in the log`);
  }
  assert.ok(log.text().includes('ssh host key not verified'), 'the log was captured');
});
