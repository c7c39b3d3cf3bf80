import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { App } from 'apflow';
import { started, eventually, processGone, testApp } from '../helpers.ts';
import { type Json, runTree, runOne, completed, failed } from './builtin-executors-setup.ts';

const commandEnvNames = [
  'APFLOW_STDIO_ALLOW_COMMAND',
  'AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND',
  'APFLOW_STDIO_COMMAND_WHITELIST',
  'AIPARTNERUPFLOW_STDIO_COMMAND_WHITELIST',
] as const;

/**
 * An app built while the command variables of process.env are exactly `env` (the plugin reads
 * them at setup); process.env is restored afterwards.
 */
async function commandApp(
  t: TestContext,
  env: Partial<Record<(typeof commandEnvNames)[number], string>>,
  command?: Json,
): Promise<App> {
  const saved = new Map(commandEnvNames.map((name) => [name, process.env[name]]));
  for (const name of commandEnvNames) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  try {
    return await testApp(t, command ? { builtin_executors: { command } } : {});
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

interface CommandResult {
  command: string;
  return_code: number;
  stdout: string;
  stderr: string;
  success: boolean;
}

describe('command_executor', () => {
  const allowed = { enabled: true, allow: ['echo', 'node'] };

  test('is disabled by default, and the failure says how to enable it', async (t) => {
    const app = await commandApp(t, {});
    const error = failed(await runOne(app, 'command_executor', { command: 'echo hi' }));
    assert.match(
      error,
      /^command_executor is disabled: set builtin_executors\.command\.enabled: true \(or APFLOW_STDIO_ALLOW_COMMAND=1\)/,
    );
  });

  test('runs a program with quoted arguments and returns its output', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: 'echo hello "big world"' }),
    );
    assert.deepEqual(result, {
      command: 'echo hello "big world"',
      return_code: 0,
      stdout: 'hello big world\n',
      stderr: '',
      success: true,
    });
    const array = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: ['echo', "it's", 'a b'], args: ['c'] }),
    );
    assert.equal(array.stdout, "it's a b c\n");
    assert.equal(array.command, `echo 'it'"'"'s' 'a b' c`, 'the command shown splits back into the same words');
  });

  test("a command does not see the server's secrets in its environment, and a refusal is not retried", async (t) => {
    const app = await commandApp(t, {}, allowed);
    process.env.APFLOW_JWT_SECRET = 'super-secret-jwt';
    t.after(() => delete process.env.APFLOW_JWT_SECRET);
    const script = 'console.log(process.env.APFLOW_JWT_SECRET ?? "none", typeof process.env.PATH)';
    const result = completed<CommandResult>(await runOne(app, 'command_executor', { command: ['node', '-e', script] }));
    assert.equal(result.stdout, 'none string\n');
    const { byName } = await runTree(app, [
      {
        name: 'refused',
        schemas: { method: 'command_executor' },
        inputs: { command: 'cat /etc/passwd' },
        params: { retries: 3 },
      },
    ]);
    assert.match(failed(byName('refused')), /not in the allowlist/);
    assert.equal(byName('refused').attempts, 1, 'a refusal fails at once, whatever params.retries says');
  });

  test('the cwd input sets the working directory', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const dir = tmpdir();
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', {
        command: ['node', '-e', 'process.stdout.write(process.cwd())'],
        cwd: dir,
      }),
    );
    assert.equal(result.stdout, dir);
  });

  test('a program outside the allowlist is refused by name, also when given as a path', async (t) => {
    const app = await commandApp(t, {}, allowed);
    assert.match(
      failed(await runOne(app, 'command_executor', { command: 'cat /etc/hostname' })),
      /^command 'cat' is not in the allowlist \(echo, node\)$/,
    );
    assert.match(
      failed(await runOne(app, 'command_executor', { command: '/bin/cat /etc/hostname' })),
      /^command '\/bin\/cat' is not in the allowlist/,
    );
    // A path ending in an allowed name is another program.
    assert.match(
      failed(await runOne(app, 'command_executor', { command: '/tmp/echo hi' })),
      /^command '\/tmp\/echo' is not in the allowlist/,
    );
  });

  test('shell metacharacters are passed literally, never interpreted', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const marker = join(tmpdir(), `apflow-shell-${randomUUID()}`);
    const line = `echo $HOME; touch ${marker} && $(touch ${marker}) | cat > ${marker} \`id\``;
    const result = completed<CommandResult>(await runOne(app, 'command_executor', { command: line }));
    assert.equal(result.stdout, `$HOME; touch ${marker} && $(touch ${marker}) | cat > ${marker} \`id\`\n`);
    assert.equal(existsSync(marker), false, 'no shell ran the touch');
  });

  test('a non-zero exit is a completed task with its return code and success false', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: 'node -e "process.stderr.write(\'bad\'); process.exit(3)"' }),
    );
    assert.equal(result.return_code, 3);
    assert.equal(result.success, false);
    assert.equal(result.stderr, 'bad');
    const killed = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: `node -e "process.kill(process.pid, 'SIGKILL')"` }),
    );
    assert.equal(killed.return_code, -9, 'killed by a signal: minus the signal number');
    assert.equal(killed.success, false);
  });

  test('APFLOW_STDIO_ALLOW_COMMAND or its alias enables it when the config does not say', async (t) => {
    for (const env of [
      { APFLOW_STDIO_ALLOW_COMMAND: '1' },
      { AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: '1' },
      { AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: 'yes' },
    ]) {
      const app = await commandApp(t, env);
      assert.equal(
        completed<CommandResult>(await runOne(app, 'command_executor', { command: 'echo on' })).stdout,
        'on\n',
        JSON.stringify(env),
      );
    }
    const off = await commandApp(t, { APFLOW_STDIO_ALLOW_COMMAND: '1' }, { enabled: false });
    assert.match(
      failed(await runOne(off, 'command_executor', { command: 'echo on' })),
      /disabled/,
      'the config wins over the environment',
    );
    const emptyFirst = await commandApp(t, {
      APFLOW_STDIO_ALLOW_COMMAND: '',
      AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: '1',
    });
    completed(await runOne(emptyFirst, 'command_executor', { command: 'echo on' }));
    const listed = await commandApp(t, {
      APFLOW_STDIO_ALLOW_COMMAND: 'true',
      APFLOW_STDIO_COMMAND_WHITELIST: 'echo, ls',
    });
    completed(await runOne(listed, 'command_executor', { command: 'echo on' }));
    assert.match(
      failed(await runOne(listed, 'command_executor', { command: 'node -v' })),
      /^command 'node' is not in the allowlist \(echo, ls\)$/,
    );
  });

  test('an unclosed quote fails with a clear message', async (t) => {
    const app = await commandApp(t, {}, allowed);
    assert.equal(
      failed(await runOne(app, 'command_executor', { command: 'echo "oops' })),
      'command has an unclosed " quote',
    );
    assert.equal(failed(await runOne(app, 'command_executor', { command: '   ' })), 'command is empty');
  });

  test('a program that cannot start, or floods its output, fails the task', async (t) => {
    const app = await commandApp(t, {}, { enabled: true, allow: [] });
    const error = failed(await runOne(app, 'command_executor', { command: `apflow-no-such-program-${randomUUID()}` }));
    assert.match(error, /^cannot run 'apflow-no-such-program-[\w-]+': ENOENT$/);
    const flood = failed(
      await runOne(app, 'command_executor', {
        command: ['node', '-e', "process.stdout.write('x'.repeat(11 * 1024 * 1024))"],
      }),
    );
    assert.equal(flood, 'command failed: stdout maxBuffer length exceeded');
  });

  /** A node program that ignores SIGTERM, writes its pid to `file` and never ends. */
  const stubborn = (file: string) => [
    'node',
    '-e',
    `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(file)}, String(process.pid)); setInterval(() => {}, 1000)`,
  ];
  const gone = processGone;

  test('a program running past its timeout is killed and the task fails naming the timeout', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const error = failed(
      await runOne(app, 'command_executor', { command: 'node -e "setTimeout(() => {}, 10000)"', timeout: 0.3 }),
    );
    assert.equal(error, 'command timed out after 0.3s: node -e "setTimeout(() => {}, 10000)"');
    const pidFile = join(tmpdir(), `apflow-pid-${randomUUID()}`);
    t.after(() => rmSync(pidFile, { force: true }));
    assert.match(
      failed(await runOne(app, 'command_executor', { command: stubborn(pidFile), timeout: 0.5 })),
      /^command timed out after 0\.5s: node -e /,
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(() => gone(pid));
  });

  test('cancelling the task kills the program', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const pidFile = join(tmpdir(), `apflow-pid-${randomUUID()}`);
    t.after(() => rmSync(pidFile, { force: true }));
    const tree = await app.engine.createTree([
      { name: 'run', schemas: { method: 'command_executor' }, inputs: { command: stubborn(pidFile) } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0));
    assert.equal((await app.engine.cancel([tree.id]))[0]?.status, 'cancelled');
    assert.equal((await done).status, 'cancelled');
    await eventually(() => gone(pid));
  });
});
