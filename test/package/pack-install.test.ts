import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, rpc, runApflow, sleep } from '../helpers.ts';

/**
 * The published shape, as a user meets it: a project made by `apflow init`, apflow and every
 * extension built, packed with `npm pack` and installed there with `npm install`; a plugin
 * added with `apflow new plugin`; `npm run typecheck` and `npm test` pass (the built `.d.ts`,
 * `apflow/testing`), and `npm start` serves with the extensions named in its config and the
 * project's TypeScript executor.
 */

/** The extension packages, each packed and installed. */
const extensions = ['crewai', 'llm-key-config', 'ssh', 'docker', 'grpc', 'email'];

// Without NODE_TEST_CONTEXT: set for this file by the test runner, it would make the project's own
// `node --test` report to this runner instead of printing.
const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
const npmEnv = { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: npmEnv });
const pack = (dir: string, into: string) =>
  npm(['pack', '--ignore-scripts', '--pack-destination', into, '--silent'], dir).trim().split('\n').at(-1) as string;

test('a project from apflow init, with packed apflow and extensions installed: npm test passes, npm start serves a crew and its TypeScript executor', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'apflow-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build.js')], { stdio: 'inherit' });
  const tarballs = [repoRoot, ...extensions.map((name) => join(repoRoot, 'extensions', name))].map((dir) =>
    join(work, pack(dir, work)),
  );

  assert.equal((await runApflow(['init', 'app'], { cwd: work })).code, 0);
  const app = join(work, 'app');
  // As the config's comment says: the extensions, named once installed.
  const config = join(app, 'apflow.config.ts');
  writeFileSync(
    config,
    readFileSync(config, 'utf8').replace(
      "// plugins: ['@apflow/crewai', '@apflow/llm-key-config'],",
      `plugins: [${extensions.map((name) => `'@apflow/${name}'`).join(', ')}],`,
    ),
  );
  // Scripts are skipped and better-sqlite3's native module is taken from this clone's install (same
  // version, same machine): built from source, it alone takes minutes here (its prebuilt
  // binaries are downloaded from GitHub, which this machine cannot reach).
  const install = spawnSync('npm', ['install', '--prefer-offline', '--ignore-scripts', ...tarballs], {
    cwd: app,
    encoding: 'utf8',
    env: npmEnv,
  });
  assert.equal(install.status, 0, install.stderr);
  // No warning a user must wonder about: no EBADENGINE (dependencies that need a later Node).
  assert.doesNotMatch(install.stderr, /npm warn/i, 'npm install printed warnings');
  cpSync(join(repoRoot, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), {
    recursive: true,
  });

  const installed = join(app, 'node_modules/apflow');
  // What the package holds (npm nests a dependency here when versions differ: node_modules).
  const listing = (dir: string) =>
    readdirSync(dir)
      .filter((name) => name !== 'node_modules')
      .sort();
  assert.deepEqual(listing(installed), ['README.md', 'SECURITY.md', 'bin', 'dist', 'docs', 'package.json']);
  assert.ok(
    !existsSync(join(installed, 'dist/kernel/index.ts')) && existsSync(join(installed, 'dist/kernel/index.d.ts')),
  );
  for (const extension of extensions)
    assert.deepEqual(readdirSync(join(app, 'node_modules/@apflow', extension)).sort(), [
      'README.md',
      'dist',
      'package.json',
    ]);

  // A plugin from the installed CLI; the project type-checks (its strict tsconfig, against the
  // built .d.ts) and its tests pass on the installed apflow/testing.
  execFileSync('npx', ['--no-install', 'apflow', 'new', 'plugin', 'greeter'], { cwd: app, encoding: 'utf8' });
  // apflow/client's types, from the installed package (a helper file, never loaded as an executor).
  writeFileSync(
    join(app, 'executors/_client.ts'),
    `import { createClient, NotFoundError, type TaskEvent } from 'apflow/client';
export async function firstRoot(url: string): Promise<string | undefined> {
  const client = createClient({ baseUrl: url });
  const events: TaskEvent[] = [];
  for await (const event of client.execute([{ name: 'x', schemas: { method: 'hello' }, inputs: { name: 'c' } }], { stream: true })) events.push(event);
  try {
    await client.tasks.tree({ task_id: 'missing' });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  return (await client.tasks.list({ limit: 1 }))[0]?.id;
}
`,
  );
  npm(['run', 'typecheck'], app);
  const tested = npm(['test'], app);
  assert.match(tested, /# pass 2\n# fail 0/, 'the executor and plugin tests');

  /** `npm start` in the app, as a user runs it; the server's URL once it listens. */
  const start = async () => {
    const child = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', '0'], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        APFLOW_LLM_KEY_SECRET: 'pack-test-secret-0123456789abcdefghij',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: npm runs the server as a grandchild, which the group's kill reaches.
      detached: true,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // The group is gone already.
      }
    };
    t.after(() => kill('SIGKILL'));
    const output = { out: '', err: '' };
    child.stdout.on('data', (chunk) => (output.out += chunk));
    child.stderr.on('data', (chunk) => (output.err += chunk));
    let url = '';
    for (let waited = 0; !url && waited < 60_000; waited += 100) {
      const line = output.out.split('\n').find((entry) => entry.includes('"apflow listening"'));
      if (line) url = (JSON.parse(line) as { url: string }).url;
      else if (child.exitCode !== null) break;
      else await sleep(100);
    }
    assert.ok(url, `apflow did not start:\n${output.out}\n${output.err}`);
    return { url, output, stop: () => (kill('SIGTERM'), exited) };
  };
  // The user's compiled TypeScript, kept for the next start (node_modules/.cache/apflow).
  const cacheDir = join(app, 'node_modules/.cache/apflow');
  const cached = () =>
    existsSync(cacheDir)
      ? readdirSync(cacheDir)
          .sort()
          .map((name) => `${name} ${statSync(join(cacheDir, name)).mtimeMs}`)
      : [];

  const first = await start();
  await first.stop();
  const compiled = cached();
  assert.equal(compiled.filter((entry) => entry.includes('.mjs ')).length, 2, 'the config and hello.ts, compiled');
  // Restarted with nothing changed: both come from the cache, not compiled again.
  const { url, output } = await start();
  assert.deepEqual(cached(), compiled);

  const health = (await (await fetch(`${url}/health`)).json()) as { plugins: string[]; reload_errors: unknown[] };
  for (const name of extensions) assert.ok(health.plugins.includes(name), `${name} is not in ${health.plugins.join()}`);
  assert.deepEqual(health.reload_errors, []);
  // Swagger UI's files come with the build (the package does not depend on @fastify/swagger-ui).
  assert.ok(!existsSync(join(app, 'node_modules/@fastify/swagger-ui')));
  const bundle = await fetch(`${url}/docs?asset=swagger-ui-bundle.js`);
  assert.equal(bundle.status, 200);
  assert.match(await bundle.text(), /SwaggerUIBundle/);
  const execute = async (params: Record<string, unknown>) => {
    const answer = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params });
    const result = answer.body?.result as { status: string; result: Record<string, unknown> } | undefined;
    assert.equal(result?.status, 'completed', JSON.stringify(answer.body));
    return result.result;
  };
  // apflow/client, installed: the Node build runs a streamed tree; the dashboard serves the browser build.
  writeFileSync(
    join(app, 'client-check.mjs'),
    `import { createClient } from 'apflow/client';
const client = createClient({ baseUrl: process.argv[2] });
const types = [];
for await (const event of client.execute([{ name: 'c', schemas: { method: 'hello' }, inputs: { name: 'client' } }], { stream: true })) types.push(event.type);
const executors = await client.system.executors();
console.log(JSON.stringify({ types, hello: executors.executors.some((one) => one.id === 'hello') }));
`,
  );
  const checked = JSON.parse(
    execFileSync(process.execPath, ['client-check.mjs', url], { cwd: app, encoding: 'utf8' }),
  ) as {
    types: string[];
    hello: boolean;
  };
  assert.equal(checked.types.at(-1), 'final');
  assert.ok(checked.hello);
  const browserBuild = await fetch(`${url}/ui?asset=client.js`);
  assert.equal(browserBuild.status, 200);
  assert.equal(await browserBuild.text(), readFileSync(join(installed, 'dist/client/browser.js'), 'utf8'));
  const crew = await execute({ task_id: 'example-crewai-demo', use_demo: true });
  assert.equal(crew.status, 'success');
  assert.equal(crew.demo_mode, true);
  // Each executor extension's built code runs (in demo mode: nothing is reached).
  for (const executor of ['ssh_executor', 'docker_executor', 'grpc_executor', 'send_email_executor']) {
    const tree = await rpc(url, '/tasks', {
      jsonrpc: '2.0',
      id: 2,
      method: 'tasks.create',
      params: [{ id: executor, name: executor, schemas: { method: executor }, inputs: {} }],
    });
    assert.ok(tree.body?.result, JSON.stringify(tree.body));
    assert.equal((await execute({ task_id: executor, use_demo: true })).demo_mode, true, executor);
  }
  const created = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 2,
    method: 'tasks.create',
    params: [{ id: 'hi', name: 'hi', schemas: { method: 'hello' }, inputs: { name: 'npm' } }],
  });
  assert.ok(created.body?.result, JSON.stringify(created.body));
  assert.deepEqual(await execute({ task_id: 'hi' }), { greeting: 'hello npm' });

  // Edited, with a helper of its own, the executor is the new one at a later run: the installed
  // build compiles the user's TypeScript in its own thread (no loader hooks), afresh each reload.
  // The helper also uses what CommonJS-minded code does: a built-in by its bare name, `require`
  // and `__dirname` (its own folder).
  writeFileSync(
    join(app, 'executors/_greeting.ts'),
    "import { basename } from 'path';\nexport const greeting = (name: string) => `hi ${name} from ${basename(__dirname)}${require('node:path').sep}`;\n",
  );
  const hello = join(app, 'executors/hello.ts');
  writeFileSync(
    hello,
    `import { greeting } from './_greeting.ts';\n${readFileSync(hello, 'utf8').replace('{ greeting: `hello ${inputs.name}` }', '{ greeting: greeting(inputs.name) }')}`,
  );
  let greeted: unknown;
  for (
    let n = 0;
    n < 100 && (greeted as { greeting?: string } | undefined)?.greeting !== 'hi npm from executors/';
    n++
  ) {
    await sleep(100);
    const task = { id: `hi-${n}`, name: 'hi', schemas: { method: 'hello' }, inputs: { name: 'npm' } };
    await rpc(url, '/tasks', { jsonrpc: '2.0', id: 3, method: 'tasks.create', params: [task] });
    greeted = await execute({ task_id: task.id });
  }
  assert.deepEqual(greeted, { greeting: 'hi npm from executors/' }, `the edited executor did not load:\n${output.err}`);
  assert.notDeepEqual(cached(), compiled, 'the edited executor was compiled again, and kept');
});
