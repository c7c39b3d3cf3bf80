import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, rpc, spawnApflow, tempProject, waitListening } from '../helpers.ts';
import { assertNoKeys, extensionDir, PACKAGE, sqliteBytes } from './llm-key-config-fixtures.ts';

/**
 * The published shape: `npm pack` the extension, `npm install` the tarball into a user's project
 * (from npm's cache where it can, else the registry: `npm ci` caches tarballs but not the package
 * lists `npm install` reads, so `--offline` failed on a fresh machine), name the package in the
 * config, and use it on a real `apflow serve`.
 */

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

test('the npm pack tarball installs into an app and loads by package name', async (t) => {
  const packDir = mkdtempSync(join(tmpdir(), 'apflow-pack-'));
  t.after(() => rmSync(packDir, { recursive: true, force: true }));
  const tarball = npm(['pack', '--pack-destination', packDir, '--silent'], extensionDir)
    .trim()
    .split('\n')
    .at(-1) as string;
  assert.match(tarball, /^apflow-llm-key-config-\d+\.\d+\.\d+\.tgz$/);
  const listed = npm(['pack', '--dry-run', '--json'], extensionDir);
  const files = (JSON.parse(listed) as { files: { path: string }[] }[])[0]?.files.map((file) => file.path).sort();
  assert.deepEqual(
    files?.filter((file) => !file.startsWith('dist/')),
    ['README.md', 'package.json'],
    'only the build, README and manifest are published',
  );

  const dir = tempProject(t);
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(packDir, tarball)], dir);
  // npm prunes what package.json does not list, such as the apflow link tempProject made; a user's
  // app lists apflow among its dependencies instead.
  if (!existsSync(join(dir, 'node_modules', 'apflow')))
    symlinkSync(repoRoot, join(dir, 'node_modules', 'apflow'), 'dir');
  const installed = join(dir, 'node_modules', '@apflow', 'llm-key-config');
  assert.ok(!lstatSync(installed).isSymbolicLink(), 'a real install, not a workspace link');
  assert.equal((JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { name: string }).name, PACKAGE);
  assert.ok(existsSync(join(dir, 'node_modules', 'ioredis', 'package.json')), 'its dependency came along');

  writeFileSync(
    join(dir, 'apflow.config.json'),
    JSON.stringify({ database: { url: `sqlite:${join(dir, 'apflow.sqlite')}` }, plugins: [PACKAGE] }),
  );
  const server = spawnApflow(['serve', '--host', '127.0.0.1', '--port', '0'], {
    cwd: dir,
    env: { APFLOW_LLM_KEY_SECRET: 'pack-test-secret-0123456789abcdefghij' },
  });
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const url = await waitListening(server);
  const KEY = 'sk-pack-test-openai-nnnnnnnnnnnnnnnn';
  const call = async (method: string, params: unknown) => {
    const answer = await rpc(url, '/system', { jsonrpc: '2.0', id: 1, method, params });
    assert.equal(answer.status, 200);
    return JSON.stringify(answer.body);
  };
  const set = await call('config.llm_key.set', { user_id: 'pat', provider: 'openai', api_key: KEY });
  assert.deepEqual(JSON.parse(set).result, { success: true, user_id: 'pat', provider: 'openai' });
  const got = await call('config.llm_key.get', { user_id: 'pat', provider: 'openai' });
  assert.deepEqual(JSON.parse(got).result, {
    has_key: true,
    user_id: 'pat',
    provider: 'openai',
    providers: { openai: '***' },
  });

  server.child.kill('SIGTERM');
  await server.exited;
  const started =
    server
      .stdout()
      .split('\n')
      .find((line) => line.includes('"apflow listening"')) ?? '';
  assert.ok(
    (JSON.parse(started) as { plugins: string[] }).plugins.includes('llm-key-config'),
    'the server lists the plugin',
  );
  assert.match(server.stdout(), /"store":"memory","encrypted":true/);
  assertNoKeys([set, got, server.stdout(), server.stderr()].join('\n'), [KEY], 'the answers and the server output');
  assertNoKeys(sqliteBytes(dir, 'apflow.sqlite'), [KEY], 'the database');
});
