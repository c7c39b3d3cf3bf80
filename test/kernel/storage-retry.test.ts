import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { eventually, freePort, memoryLog, repoRoot, rpc, testApp } from '../helpers.ts';

// A private PostgreSQL server, taken down and brought back by these tests (never the shared one
// of APFLOW_TEST_POSTGRES_URL, which other test files use at the same time).
const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
const hasPostgres = versions.some((version) => existsSync(join('/usr/lib/postgresql', version, 'bin', 'pg_ctl')));
const skip = hasPostgres ? false : 'no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)';

const run = promisify(execFile);
let env: NodeJS.ProcessEnv = {};
let adminUrl = '';

/** Runs scripts/postgres.sh `command` on the private server; returns what it printed. */
async function postgres(command: 'start' | 'down' | 'up' | 'stop'): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'scripts', 'postgres.sh'), command], { env });
  return stdout;
}

/** A fresh database on the private server. */
async function freshDatabase(): Promise<string> {
  const name = `apflow_retry_${randomBytes(6).toString('hex')}`;
  await query(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

async function query(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function countNamed(url: string, name: string): Promise<number> {
  const [row] = await query(url, 'SELECT COUNT(*) AS n FROM apflow_tasks WHERE name = $1', [name]);
  return Number(row?.n);
}

const create = (base: string, tasks: unknown) =>
  rpc(base, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.create', params: tasks });

/**
 * An app on `url` whose log lines the test reads, listening on a real port, past its first
 * request (which plugins may use to set themselves up: later ones go straight to the handler).
 */
async function appOn(t: TestContext, url: string) {
  const log = memoryLog();
  const app = await testApp(t, { database: { url } }, { logStream: log.stream });
  const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });
  const first = await create(base, [{ name: 'first' }]);
  assert.ok(first.body?.result, JSON.stringify(first.body));
  const lines = (msg: string, call?: string) =>
    log.lines.filter((line) => line.msg === msg && (call === undefined || line.call === call));
  return { base, log, lines };
}

describe('storage calls retry a lost PostgreSQL connection', { skip }, () => {
  before(async () => {
    env = {
      ...process.env,
      APFLOW_TEST_POSTGRES_PORT: String(await freePort()),
      APFLOW_TEST_POSTGRES_DIR: join(tmpdir(), `apflow-retry-pg-${randomBytes(6).toString('hex')}`),
    };
    const printed = await postgres('start');
    adminUrl = /APFLOW_TEST_POSTGRES_URL=(\S+)/.exec(printed)?.[1] ?? '';
    assert.ok(adminUrl, `postgres.sh start printed no URL: ${printed}`);
  });
  after(() => postgres('stop'));

  test('tasks.create sent while PostgreSQL restarts answers once it is back, and the tree is stored once', async (t) => {
    const url = await freshDatabase();
    const { base, log, lines } = await appOn(t, url);
    await postgres('down');
    let answer: ReturnType<typeof create> | undefined;
    try {
      answer = create(base, [
        { name: 'across-restart' },
        { name: 'child-a', parent_id: 'across-restart' },
        { name: 'child-b', parent_id: 'across-restart' },
      ]);
      // Brought back only once the call has met the outage and waits for its next attempt.
      await eventually(() => lines('database connection lost; retrying', 'writeAside').length > 0, 30_000);
    } finally {
      await postgres('up');
    }
    const { status, body } = await answer;
    assert.equal(status, 200, JSON.stringify(body));
    const tree = body?.result as { id: string; name: string; children: unknown[] };
    assert.equal(tree.name, 'across-restart', JSON.stringify(body));
    assert.equal(tree.children.length, 2);
    const [stored] = await query(url, 'SELECT COUNT(*) AS n FROM apflow_tasks WHERE root_id = $1', [tree.id]);
    assert.equal(Number(stored?.n), 3);
    assert.equal(await countNamed(url, 'across-restart'), 1, 'the tree is stored once');
    const retry = lines('database connection lost; retrying', 'writeAside')[0] ?? {};
    assert.equal(retry.level, 40, 'logged at warn');
    assert.ok(typeof retry.code === 'string' && typeof retry.attempt === 'number', JSON.stringify(retry));
    assert.equal(lines('database connection lost; giving up', 'writeAside').length, 0);
    assert.ok(!log.text().includes(adminUrl.replace(/\/[^/]*$/, '')), 'no connection string in the log');
  });

  test('a call that is refused for another reason answers at once with its own error, never retried', async (t) => {
    const url = await freshDatabase();
    const { base, lines } = await appOn(t, url);
    await query(url, "ALTER TABLE apflow_tasks ADD CONSTRAINT storage_retry_test CHECK (name <> 'refused-by-check')");
    const { status, body } = await create(base, [{ name: 'refused-by-check' }]);
    assert.equal(status, 200);
    assert.deepEqual(
      { code: (body?.error as { code?: number }).code, message: (body?.error as { message?: string }).message },
      { code: -32603, message: 'Internal error' },
    );
    assert.equal(lines('database connection lost; retrying').length, 0);
    assert.equal(lines('database connection lost; giving up').length, 0);
    assert.equal(await countNamed(url, 'refused-by-check'), 0);
  });

  test('a call gives up after the bound while PostgreSQL stays down: a clear 503, nothing stored', async (t) => {
    const url = await freshDatabase();
    const { base, lines } = await appOn(t, url);
    await postgres('down');
    let answer: Awaited<ReturnType<typeof create>>;
    try {
      answer = await create(base, [{ name: 'never-stored' }]);
    } finally {
      await postgres('up');
    }
    assert.equal(answer.status, 503);
    const error = answer.body?.error as { code: number; message: string };
    assert.equal(error.code, -32603);
    assert.match(error.message, /^Database unreachable: gave up after \d+ attempts$/);
    assert.ok(lines('database connection lost; retrying', 'writeAside').length > 0);
    assert.equal(lines('database connection lost; giving up', 'writeAside').length, 1);
    assert.equal(await countNamed(url, 'never-stored'), 0);
  });
});
