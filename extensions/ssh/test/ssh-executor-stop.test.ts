import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, started } from '../../../test/helpers.ts';
import { passwordLogin, runSsh, sshApp, sshServer, USER, type SshServer } from './ssh-setup.ts';

/**
 * A command that sleeps, then marks it ran to the end. Its `sleep` gets a duration of its own
 * (`sleep 30.<random>`), so every process of the run (the remote shell and its child) can be found
 * by its command line: none may be left once the run is stopped.
 */
function sleeper(server: SshServer) {
  const marker = join(server.work, 'finished');
  const tag = `sleep 30.${randomInt(100_000, 999_999)}`;
  return {
    command: `${tag}; touch ${marker}`,
    /** Pids of the remote user's processes still running the command (`pgrep -u USER -f`). */
    running: () =>
      (spawnSync('pgrep', ['-u', USER, '-f', tag.replace('.', '\\.')]).stdout?.toString() ?? '')
        .split('\n')
        .filter(Boolean)
        .map(Number),
    marker,
  };
}

/** Watches (every 100 ms) whether the sleeper was ever seen running, until the test ends. */
function watchRunning(t: TestContext, remote: ReturnType<typeof sleeper>): () => boolean {
  let seen = false;
  const timer = setInterval(() => (seen ||= remote.running().length > 0), 100);
  t.after(() => clearInterval(timer));
  return () => seen;
}

test('a failing command completes the task with its exit code and success false', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const { row } = await runSsh(app, passwordLogin(server, 'echo partial; echo broken >&2; exit 3'));
  assert.equal(row.status, 'completed', String(row.error));
  const result = row.result as Record<string, unknown>;
  assert.equal(result.exit_code, 3);
  assert.equal(result.success, false);
  assert.equal(result.stdout, 'partial\n');
  assert.equal(result.stderr, 'broken\n');
});

test('stdout and stderr are capped at ssh.max_output_bytes each; the result says so', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t, { ssh: { max_output_bytes: 1000 } });
  const { row } = await runSsh(
    app,
    passwordLogin(server, "head -c 5000 /dev/zero | tr '\\0' a; printf 'é%.0s' $(seq 600) >&2"),
  );
  assert.equal(row.status, 'completed', String(row.error));
  const result = row.result as Record<string, unknown>;
  assert.equal(result.stdout, 'a'.repeat(1000));
  assert.equal(result.stdout_bytes, 5000);
  assert.equal(result.stderr, 'é'.repeat(500), 'cut on a character boundary');
  assert.equal(result.stderr_bytes, 1200);
  assert.equal(result.truncated, true);
  assert.equal(result.max_output_bytes, 1000);
  assert.equal(result.exit_code, 0);

  const small = await runSsh(app, passwordLogin(server, 'echo small'));
  assert.equal((small.row.result as Record<string, unknown>).truncated, false);
});

test('the timeout input fails the task and stops the remote command', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const remote = sleeper(server);
  const seen = watchRunning(t, remote);
  const { row } = await runSsh(app, { ...passwordLogin(server, remote.command), timeout: 2 });
  assert.equal(row.status, 'failed');
  assert.equal(
    row.error,
    `ssh_executor: 127.0.0.1:${server.port} timed out after 2s (the command was stopped and the connection closed)`,
  );
  assert.ok(seen(), 'the command had started');
  await eventually(() => remote.running().length === 0, 10_000);
  await eventually(() => server.log().includes(`Disconnected from user ${USER} 127.0.0.1`), 10_000);
  assert.equal(existsSync(remote.marker), false);
});

test("the task's own timeout (params.timeout_s) also stops the remote command", async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const remote = sleeper(server);
  const seen = watchRunning(t, remote);
  const { row } = await runSsh(app, passwordLogin(server, remote.command), { params: { timeout_s: 2 } });
  assert.equal(row.status, 'failed');
  assert.match(String(row.error), /^Timeout: the task ran longer than 2s/);
  assert.ok(seen(), 'the command had started');
  await eventually(() => remote.running().length === 0, 10_000);
});

test('cancelling through the API (tasks.cancel) stops the remote command and closes the connection', async (t) => {
  const server = await sshServer(t);
  if (!server) return;
  const app = await sshApp(t);
  const remote = sleeper(server);
  const tree = await app.engine.createTree([
    { name: 'ssh', schemas: { method: 'ssh_executor' }, inputs: passwordLogin(server, remote.command) },
  ]);
  const { done } = started(await app.engine.execute(tree.id));
  await eventually(() => remote.running().length > 0, 20_000);
  const answer = await app.inject({
    method: 'POST',
    url: '/tasks',
    payload: { jsonrpc: '2.0', id: 1, method: 'tasks.cancel', params: { task_ids: [tree.id] } },
  });
  assert.equal(answer.statusCode, 200, answer.body);
  assert.equal((answer.json() as { result: { status: string }[] }).result[0]?.status, 'cancelled', answer.body);
  assert.equal((await done).status, 'cancelled');
  await eventually(() => remote.running().length === 0, 10_000);
  // sshd logs the client's disconnect.
  await eventually(() => server.log().includes(`Disconnected from user ${USER} 127.0.0.1`), 10_000);
  assert.equal((await app.tasks.get(tree.id))?.status, 'cancelled');
  assert.equal(existsSync(remote.marker), false);
});
