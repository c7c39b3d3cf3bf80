import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { runApflow, tempProject } from '../helpers.ts';
import { CREWAI_DEPENDENCIES, installExtension } from '../extensions/install-extension.ts';

const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });

test('apflow init writes a project, and refuses to write over one', async (t) => {
  const dir = tempProject(t);
  const made = await runApflow(['init', 'my-app'], { cwd: dir });
  assert.equal(made.code, 0, made.stderr);
  const app = join(dir, 'my-app');
  const files = ['.gitignore', 'README.md', 'apflow.config.ts', 'executors', 'package.json', 'tsconfig.json'];
  assert.deepEqual(readdirSync(app).sort(), files);
  assert.deepEqual(readdirSync(join(app, 'executors')).sort(), ['hello.test.ts', 'hello.ts']);
  assert.match(made.stdout, /Next: cd my-app && npm install && npm start/);
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  assert.equal(manifest.name as unknown as string, 'my-app');
  assert.match(manifest.dependencies?.apflow ?? '', /^\^\d+\.\d+\.\d+$/);
  assert.deepEqual(manifest.scripts, {
    start: 'apflow serve',
    dev: 'apflow serve --reload',
    test: 'apflow test',
    typecheck: 'tsc',
  });
  assert.match(readFileSync(join(app, '.gitignore'), 'utf8'), /^\.data\/$/m);
  assert.ok(readFileSync(join(app, 'README.md'), 'utf8').trim().split('\n').length <= 6);

  writeFileSync(join(app, 'README.md'), 'mine');
  const again = await runApflow(['init', 'my-app'], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /my-app\/package\.json, .*my-app\/README\.md already exist: nothing written/);
  assert.equal(readFileSync(join(app, 'README.md'), 'utf8'), 'mine');
});

test("apflow init's config: every commented setting is valid once uncommented", async (t) => {
  const project = tempProject(t);
  assert.equal((await runApflow(['init', 'app'], { cwd: project })).code, 0);
  const dir = join(project, 'app');
  installExtension(dir, 'crewai', '@apflow/crewai', CREWAI_DEPENDENCIES);
  installExtension(dir, 'llm-key-config', '@apflow/llm-key-config', ['ioredis']);
  const file = join(dir, 'apflow.config.ts');
  const commented = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^ {2}\/\/ [a-z_]+: /.test(line));
  assert.ok(commented.length >= 12, `${commented.length} settings`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^ {2}\/\/ ([a-z_]+: )/gm, '  $1'));
  const app = await createApp({
    cwd: dir,
    logStream: quiet(),
    env: {
      APFLOW_JWT_SECRET: 'scaffold-test-secret-0123456789abcdef',
      APFLOW_METRICS_TOKEN: 'scaffold-metrics-token-0123',
      APFLOW_LLM_KEY_SECRET: 'scaffold-llm-key-secret-0123456789abc',
    },
  });
  t.after(() => app.close());
  assert.equal(app.config.server.host, '127.0.0.1');
  assert.equal(app.config.auth.enabled, true);
  assert.deepEqual(app.config.plugins, ['@apflow/crewai', '@apflow/llm-key-config']);
  assert.ok(app.executor('hello'), 'the executor folder loaded');
});

test('apflow new executor and plugin write typed skeletons whose tests pass under apflow test; bad names are refused', async (t) => {
  const project = tempProject(t);
  assert.equal((await runApflow(['init', 'app'], { cwd: project })).code, 0);
  const dir = join(project, 'app');
  const executor = await runApflow(['new', 'executor', 'shout'], { cwd: dir });
  assert.equal(executor.code, 0, executor.stderr);
  assert.match(executor.stdout, /created executors\/shout\.ts\ncreated executors\/shout\.test\.ts/);
  const plugin = await runApflow(['new', 'plugin', 'greeter'], { cwd: dir });
  assert.equal(plugin.code, 0, plugin.stderr);
  assert.match(plugin.stdout, /plugins: \['\.\/plugins\/greeter'\]/);
  const readme = readFileSync(join(dir, 'plugins/greeter/README.md'), 'utf8');
  for (const heading of ['Hooks tapped', 'Routes / methods', 'Config', 'Errors', 'Hot reload notes'])
    assert.match(readme, new RegExp(`^## ${heading.replace('/', '\\/')}$`, 'm'));

  const tested = await runApflow(['test'], { cwd: dir });
  assert.equal(tested.code, 0, tested.stdout + tested.stderr);
  assert.match(tested.stdout, /# pass 3\n# fail 0/);
  const filtered = await runApflow(['test', 'shout'], { cwd: dir });
  assert.match(filtered.stdout, /# pass 1\n/);
  // Started by another test runner (which sets NODE_TEST_CONTEXT), it still prints its own report.
  const nested = await runApflow(['test', 'shout'], { cwd: dir, env: { NODE_TEST_CONTEXT: 'child-v8' } });
  assert.equal(nested.code, 0);
  assert.match(nested.stdout, /# pass 1\n/);

  for (const [args, message] of [
    [['new', 'executor', 'Bad!'], /NAME must be lowercase/],
    [['new', 'widget', 'x'], /unknown kind 'widget'/],
    [['new', 'executor', 'shout'], /executors\/shout\.ts, executors\/shout\.test\.ts already exist/],
  ] as const) {
    const refused = await runApflow([...args], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, message);
  }
  assert.ok(!existsSync(join(dir, 'executors/Bad!.ts')));
});
