import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, repoRoot, tempProject, waitListening } from '../helpers.ts';
import { pkg, serverBin, launch, run, getHealth, assertOneLine } from './cli-setup.ts';

test('--help, --version and an unknown command', { timeout: 90_000 }, async (t) => {
  const [help, serveHelp, versionOut, unknown, unknownFlag] = await Promise.all([
    run(t, ['--help']),
    run(t, ['serve', '--help']),
    run(t, ['--version']),
    run(t, ['frobnicate']),
    run(t, ['serve', '--frobnicate']),
  ]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^\s+serve\s+Start the API server$/m);
  for (const output of [help.stdout, serveHelp.stdout]) {
    for (const flag of ['--host <host>', '--port <port>', '--workers <n>', '--reload', '--config <file>']) {
      assert.ok(output.includes(flag), `help lists ${flag}:\n${output}`);
    }
  }
  assert.doesNotMatch(help.stdout, /\[\.\.\.args\]/, 'the catch-all command is not shown as a command');
  assert.equal(serveHelp.code, 0, serveHelp.stderr);

  assert.equal(versionOut.code, 0);
  assert.ok(versionOut.stdout.includes(pkg.version), versionOut.stdout);

  assert.equal(unknown.code, 1);
  assert.match(assertOneLine(unknown.stderr), /unknown command 'frobnicate'/);
  assert.equal(unknownFlag.code, 1);
  assert.match(assertOneLine(unknownFlag.stderr), /--frobnicate/);
});

test(
  'bin/apflow-server.js starts the same server; package.json names all four commands',
  { timeout: 90_000 },
  async (t) => {
    assert.deepEqual(pkg.bin, {
      apflow: 'bin/apflow.js',
      'apflow-server': 'bin/apflow-server.js',
      aipartnerupflow: 'bin/apflow.js',
      'aipartnerupflow-server': 'bin/apflow-server.js',
    });
    for (const file of Object.values(pkg.bin)) {
      assert.ok(existsSync(join(repoRoot, file)), file);
      assert.ok(
        readFileSync(join(repoRoot, file), 'utf8').startsWith('#!/usr/bin/env node\n'),
        `${file} has a node shebang`,
      );
    }

    const port = await freePort();
    const proc = launch(t, ['--port', String(port), '--host', '127.0.0.1'], { bin: serverBin });
    const base = await waitListening(proc);
    assert.equal(base, `http://127.0.0.1:${port}`);
    assert.equal((await getHealth(base)).status, 'ok');
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.stderr());
  },
);

test('bad flags and config: one clear error naming the flag, key or file', { timeout: 90_000 }, async (t) => {
  const [badPort, badConfig, missing, badProtocol] = await Promise.all([
    run(t, ['serve', '--port', 'abc']),
    run(t, ['serve'], { cwd: tempProject(t, { 'apflow.config.yaml': 'server:\n  port: "abc"\n' }) }),
    run(t, ['serve', '--config', 'missing.yaml']),
    run(t, ['serve', '--protocol', 'rest']),
  ]);
  assert.equal(badPort.code, 1);
  assert.match(assertOneLine(badPort.stderr), /--port must be a whole number, got 'abc'/);

  assert.equal(badConfig.code, 1);
  assert.ok(
    badConfig.stderr.split('\n').some((line) => /server\.port/.test(line) && /must be integer/.test(line)),
    badConfig.stderr,
  );
  assert.doesNotMatch(badConfig.stderr, /^\s+at /m);

  assert.equal(missing.code, 1);
  assert.match(assertOneLine(missing.stderr), /config file not found: \S*missing\.yaml/);

  // The original's --protocol a2a|mcp is taken (both are always served); anything else is refused.
  assert.equal(badProtocol.code, 1);
  assert.match(
    assertOneLine(badProtocol.stderr),
    /--protocol must be a2a or mcp \(apflow serves both at once\), got 'rest'/,
  );
});
