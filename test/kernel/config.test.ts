import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig, isApflowError } from 'apflow';
import { tempProject } from '../helpers.ts';

const guideYaml = `server:
  host: 0.0.0.0
  port: 8000
  workers: 4

database:
  url: postgresql://user:pass@localhost/db

auth:
  enabled: true
  jwt_secret: your-secret-key
`;

async function configError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected the configuration to be rejected'),
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), `expected an ApflowError, got ${String(error)}`);
  return `${error.code}: ${error.message}`;
}

test("the guide's config.yaml works verbatim", async (t) => {
  const dir = tempProject(t, { 'config.yaml': guideYaml });
  const { config, file } = await resolveConfig({ cwd: dir, env: {}, cli: { config: 'config.yaml' } });
  assert.equal(file, join(dir, 'config.yaml'));
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.server.port, 8000);
  assert.equal(config.server.workers, 4);
  assert.equal(config.database.url, 'postgresql://user:pass@localhost/db');
  assert.equal(config.auth.enabled, true);
  assert.equal(config.auth.jwt_secret, 'your-secret-key');
});

test('defaults apply when there is no config file', async (t) => {
  const dir = tempProject(t);
  const { config, file } = await resolveConfig({ cwd: dir, env: {} });
  assert.equal(file, null);
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.server.port, 8000);
  assert.equal(config.server.workers, 1);
  assert.equal(config.server.body_limit, 10 * 1024 * 1024);
  assert.equal(config.database.url, `sqlite:${join(dir, '.data/apflow.sqlite')}`);
  assert.deepEqual(config.executors.dirs, [join(dir, 'executors')]);
  assert.equal(config.auth.enabled, false);
  assert.equal(config.reload, false);
});

test('precedence: CLI flag > environment > config file > default', async (t) => {
  const dir = tempProject(t, { 'apflow.config.yaml': 'server:\n  host: 10.0.0.1\n  port: 7000\n  workers: 2\n' });
  const fileOnly = await resolveConfig({ cwd: dir, env: {} });
  assert.equal(fileOnly.config.server.port, 7000);
  assert.equal(fileOnly.config.server.host, '10.0.0.1');

  const env = { APFLOW_PORT: '7100', APFLOW_HOST: '127.0.0.2' };
  const withEnv = await resolveConfig({ cwd: dir, env });
  assert.equal(withEnv.config.server.port, 7100);
  assert.equal(withEnv.config.server.host, '127.0.0.2');
  assert.equal(withEnv.config.server.workers, 2, 'keys the environment does not set keep the file value');

  const withCli = await resolveConfig({ cwd: dir, env, cli: { port: 7200 } });
  assert.equal(withCli.config.server.port, 7200);
  assert.equal(withCli.config.server.host, '127.0.0.2');

  // Each server of a cluster can set its engine from the environment.
  const engine = await resolveConfig({
    cwd: dir,
    env: {
      APFLOW_ENGINE_CONCURRENCY: '8',
      APFLOW_ENGINE_PER_USER_CONCURRENCY: '2',
      APFLOW_ENGINE_CLUSTER_CONCURRENCY: '40',
      APFLOW_ENGINE_LEASE_S: '2.5',
    },
  });
  assert.deepEqual(
    [
      engine.config.engine.concurrency,
      engine.config.engine.per_user_concurrency,
      engine.config.engine.cluster_concurrency,
      engine.config.engine.lease_s,
    ],
    [8, 2, 40, 2.5],
  );
});

test("the guide's AIPARTNERUPFLOW_* variables are aliases; APFLOW_* wins over them", async (t) => {
  const dir = tempProject(t);
  const env = {
    AIPARTNERUPFLOW_HOST: '127.0.0.3',
    AIPARTNERUPFLOW_PORT: '8111',
    AIPARTNERUPFLOW_DATABASE_URL: 'postgresql://u:p@db/apflow',
    AIPARTNERUPFLOW_JWT_SECRET: 'alias-secret',
  };
  const { config } = await resolveConfig({ cwd: dir, env });
  assert.equal(config.server.host, '127.0.0.3');
  assert.equal(config.server.port, 8111);
  assert.equal(config.database.url, 'postgresql://u:p@db/apflow');
  assert.equal(config.auth.jwt_secret, 'alias-secret');

  const both = await resolveConfig({ cwd: dir, env: { ...env, APFLOW_PORT: '8222', APFLOW_JWT_SECRET: 'primary' } });
  assert.equal(both.config.server.port, 8222);
  assert.equal(both.config.auth.jwt_secret, 'primary');
});

test('every supported file kind loads, found by name or chosen with APFLOW_CONFIG', async (t) => {
  const kinds: Record<string, string> = {
    'apflow.config.ts':
      "import { defineConfig } from 'apflow';\nconst port: number = 9001;\nexport default defineConfig({ server: { port } });\n",
    'apflow.config.mjs': 'export default { server: { port: 9002 } };\n',
    'apflow.config.js': 'export default () => ({ server: { port: 9003 } });\n',
    'apflow.config.json': '{ "server": { "port": 9004 } }',
    'apflow.config.yaml': 'server:\n  port: 9005\n',
    'apflow.config.yml': 'server: { port: 9006 }\n',
  };
  for (const [name, content] of Object.entries(kinds)) {
    const dir = tempProject(t, { [name]: content });
    const found = await resolveConfig({ cwd: dir, env: {} });
    assert.equal(found.file, join(dir, name), name);
    const expected = 9000 + Object.keys(kinds).indexOf(name) + 1;
    assert.equal(found.config.server.port, expected, name);
  }
  const dir = tempProject(t, { 'custom/settings.yaml': 'server:\n  port: 9100\n' });
  const viaEnv = await resolveConfig({ cwd: dir, env: { APFLOW_CONFIG: 'custom/settings.yaml' } });
  assert.equal(viaEnv.config.server.port, 9100);
  const viaAlias = await resolveConfig({ cwd: dir, env: { AIPARTNERUPFLOW_CONFIG: 'custom/settings.yaml' } });
  assert.equal(viaAlias.config.server.port, 9100);
});

test('relative paths in the file resolve from its folder; from the environment, from the working directory', async (t) => {
  const dir = tempProject(t, {
    'conf/apflow.yaml':
      'database:\n  url: sqlite:./db/app.sqlite\nexecutors:\n  dirs: [./execs]\nplugins: [./my-plugin.ts, some-package]\n',
  });
  const { config, baseDir } = await resolveConfig({ cwd: dir, env: {}, cli: { config: 'conf/apflow.yaml' } });
  assert.equal(baseDir, join(dir, 'conf'));
  assert.equal(config.database.url, `sqlite:${join(dir, 'conf/db/app.sqlite')}`);
  assert.deepEqual(config.executors.dirs, [join(dir, 'conf/execs')]);
  assert.deepEqual(config.plugins, [join(dir, 'conf/my-plugin.ts'), 'some-package']);

  const fromEnv = await resolveConfig({
    cwd: dir,
    env: { APFLOW_DATABASE_URL: 'sqlite:data/x.sqlite' },
    cli: { config: 'conf/apflow.yaml' },
  });
  assert.equal(fromEnv.config.database.url, `sqlite:${join(dir, 'data/x.sqlite')}`);
  const memory = await resolveConfig({ cwd: dir, env: { APFLOW_DATABASE_URL: 'sqlite::memory:' } });
  assert.equal(memory.config.database.url, 'sqlite::memory:');
});

test('validation errors name the key and what was expected', async (t) => {
  const cases: [string, RegExp][] = [
    ['server:\n  port: abc\n', /server\.port: must be integer/],
    ['server:\n  port: 70000\n', /server\.port: must be <= 65535/],
    ['server:\n  workers: 0\n', /server\.workers: must be >= 1/],
    ['server:\n  prot: 80\n', /server\.prot: unknown key/],
    ['database:\n  url: mysql://x\n', /database\.url: must match pattern/],
    ['auth:\n  enabled: "yes please"\n', /auth\.enabled: must be boolean/],
    ['plugins: [1]\n', /plugins\[0\]/],
    ['log:\n  level: loud\n', /log\.level/],
    ['- just\n- a list\n', /must hold an object/],
  ];
  for (const [yaml, expected] of cases) {
    const dir = tempProject(t, { 'apflow.config.yaml': yaml });
    const message = await configError(resolveConfig({ cwd: dir, env: {} }));
    assert.match(message, /^APF_CONFIG_INVALID: /);
    assert.match(message, expected, `for ${JSON.stringify(yaml)}: ${message}`);
  }
});

test('bad environment values and missing files are named', async (t) => {
  const dir = tempProject(t);
  assert.match(
    await configError(resolveConfig({ cwd: dir, env: { APFLOW_PORT: 'eighty' } })),
    /APFLOW_PORT must be a whole number, got 'eighty'/,
  );
  assert.match(
    await configError(resolveConfig({ cwd: dir, env: { AIPARTNERUPFLOW_PORT: '-1' } })),
    /AIPARTNERUPFLOW_PORT/,
  );
  assert.match(
    await configError(resolveConfig({ cwd: dir, env: { APFLOW_ENGINE_LEASE_S: 'soon' } })),
    /APFLOW_ENGINE_LEASE_S must be a number, got 'soon'/,
  );
  assert.match(
    await configError(resolveConfig({ cwd: dir, env: {}, cli: { config: 'nope.yaml' } })),
    new RegExp(`APF_CONFIG_NOT_FOUND: config file not found: ${join(dir, 'nope.yaml')}`),
  );
  assert.match(await configError(resolveConfig({ cwd: dir, env: { APFLOW_CONFIG: 'gone.json' } })), /gone\.json/);
  const broken = tempProject(t, { 'apflow.config.json': '{ "server": ' });
  assert.match(
    await configError(resolveConfig({ cwd: broken, env: {} })),
    /cannot read config file .*apflow\.config\.json/,
  );
  const syntax = tempProject(t, { 'apflow.config.ts': 'export default {{{' });
  assert.match(
    await configError(resolveConfig({ cwd: syntax, env: {} })),
    /cannot read config file .*apflow\.config\.ts/,
  );
});

test('the resolved config is frozen and the input is not mutated', async () => {
  const inline = { server: { port: 8123 } };
  const { config } = await resolveConfig({ inline, env: {} });
  assert.ok(Object.isFrozen(config));
  assert.deepEqual(inline, { server: { port: 8123 } });
});
