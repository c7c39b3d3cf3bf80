/** The command groups' shared plumbing: `--config` before the group, and saved logins others could read. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { fixtureExecutors } from './cli-remote-setup.ts';

test('apflow --config FILE GROUP … reads that config, as GROUP … --config FILE does', async (t) => {
  const dir = tempProject(t, {
    'other.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({ database: { url: 'sqlite:./.data/other.sqlite' }, executors: { dirs: [${JSON.stringify(fixtureExecutors)}] } });
`,
  });
  const before = await runApflow(['--config', 'other.config.ts', 'executors', 'list', '--json'], { cwd: dir });
  const after = await runApflow(['executors', 'list', '--json', '--config=other.config.ts'], { cwd: dir });
  assert.equal(before.code, 0, before.stderr);
  const ids = (out: string) => (JSON.parse(out) as { executors: { id: string }[] }).executors.map((one) => one.id);
  assert.ok(ids(before.stdout).includes('echo'), 'the fixture executors of that config');
  assert.deepEqual(ids(before.stdout), ids(after.stdout));
});

test('saved logins other users can read are not used: the command says why and goes on without', async (t) => {
  const dir = tempProject(t);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const file = join(home, 'credentials.json');
  writeFileSync(file, JSON.stringify({ 'http://127.0.0.1:9': { token: 'secret-token-xyz', saved_at: 'x' } }));
  chmodSync(file, 0o644);
  const ran = await runApflow(['tasks', 'count', '--server', 'http://127.0.0.1:9'], {
    cwd: dir,
    env: { APFLOW_CONFIG_DIR: home },
  });
  assert.equal(ran.code, 1);
  assert.match(ran.stderr, /not using the saved logins of .*credentials\.json: other users can read it/);
  assert.match(ran.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  assert.doesNotMatch(ran.stderr + ran.stdout, /secret-token-xyz/);
});
