import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createApp, type App, type TaskEvent } from 'apflow';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import {
  eventually,
  freePort,
  memoryLog,
  repoRoot,
  runApflow,
  spawnApflow,
  tempProject,
  waitListening,
} from '../helpers.ts';
import { sseSubscribe } from '../scale-out/subscribers.ts';

// database.sqlite.synchronous and database.postgres.synchronous_commit: what /health reports
// (read from the connection itself), and a kill -9 in the middle of a fast run under each.

const health = async (base: string) =>
  ((await (await fetch(`${base}/health`)).json()) as { database: { durability: string } }).database.durability;

async function serve(t: TestContext, env: Record<string, string | undefined>) {
  const dir = tempProject(t);
  const port = await freePort();
  const server = spawnApflow(['serve', '--host', '127.0.0.1', '--port', String(port)], { cwd: dir, env });
  t.after(() => server.child.kill('SIGKILL'));
  await waitListening(server);
  return `http://127.0.0.1:${port}`;
}

describe('durability settings', () => {
  test('SQLite: full by default, normal by APFLOW_SQLITE_SYNCHRONOUS, as the connection reports', async (t) => {
    const [sqliteFull, sqliteNormal] = await Promise.all(
      [{}, { APFLOW_SQLITE_SYNCHRONOUS: 'normal' }].map(async (env: Record<string, string | undefined>) => {
        const url = (await testDatabases()[0]?.create(t)) as string;
        return health(await serve(t, { APFLOW_DATABASE_URL: url, ...env }));
      }),
    );
    assert.equal(sqliteFull, 'full');
    assert.equal(sqliteNormal, 'normal');
  });

  test('a value that is not a choice stops the start with the key and the choices', async (t) => {
    const dir = tempProject(t);
    const result = await runApflow(['serve', '--port', '0'], {
      cwd: dir,
      env: { APFLOW_SQLITE_SYNCHRONOUS: 'off', APFLOW_DATABASE_URL: 'sqlite::memory:' },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /database\.sqlite\.synchronous: must be one of "full", "normal"/);
  });

  test(
    'PostgreSQL: the server’s own setting unless set; the setting is on every pooled connection',
    { skip: postgresAdminUrl ? false : 'no test PostgreSQL (APFLOW_TEST_POSTGRES_URL)' },
    async (t) => {
      const postgres = testDatabases().find((db) => db.name === 'postgres');
      const url = (await postgres?.create(t)) as string;
      const open = async (synchronous_commit?: 'off') => {
        const app: App = await createApp({
          env: {},
          logStream: memoryLog().stream,
          inline: { database: { url, postgres: { synchronous_commit } }, examples: { auto_init: false } },
        });
        t.after(() => app.close());
        return app;
      };
      const pings = async (app: App) =>
        Promise.all(
          Array.from({ length: 8 }, async () => {
            const answer = await app.inject({ method: 'GET', url: '/health' });
            return (JSON.parse(answer.body) as { database: { durability: string } }).database.durability;
          }),
        );
      assert.deepEqual(new Set(await pings(await open())), new Set(['on']));
      // Eight pings at once take several connections of the pool: each says off.
      assert.deepEqual(new Set(await pings(await open('off'))), new Set(['off']));
    },
  );
});

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'executors', name), 'utf8');
const CHILDREN = 1500;

const settings = [
  { name: 'SQLite, synchronous full', db: 'sqlite', env: {} },
  { name: 'SQLite, synchronous normal', db: 'sqlite', env: { APFLOW_SQLITE_SYNCHRONOUS: 'normal' } },
  { name: 'PostgreSQL, synchronous_commit on', db: 'postgres', env: { APFLOW_POSTGRES_SYNCHRONOUS_COMMIT: 'on' } },
] as const;

for (const setting of settings) {
  const database = testDatabases().find((db) => db.name === setting.db);
  describe(`kill -9 in the middle of a fast run: ${setting.name}`, { skip: database ? false : 'no database' }, () => {
    test(
      'nothing committed is lost; only the tasks claimed at the kill run again; the event log has no gap',
      { timeout: 120_000 },
      async (t) => {
        const url = (await database?.create(t)) as string;
        const tasks = [
          { id: 'root', name: 'root', schemas: { method: 'noop' } },
          ...Array.from({ length: CHILDREN }, (_, i) => ({
            id: `c${i}`,
            name: `c${i}`,
            parent_id: 'root',
            schemas: { method: 'noop' },
            params: { retries: 1 },
          })),
        ];
        const dir = tempProject(t, {
          'executors/noop.ts': fixture('noop.ts'),
          'tree.json': JSON.stringify({ tasks }),
        });
        const env = { APFLOW_DATABASE_URL: url, ...setting.env };
        const reader: App = await createApp({ cwd: dir, env, resume: false, logStream: memoryLog().stream });
        t.after(() => reader.close());
        const state = async () => new Map((await reader.tasks.tree('root')).map((row) => [row.id, row]));

        const run = spawnApflow(['run', 'tree.json'], { cwd: dir, env });
        t.after(() => run.child.kill('SIGKILL'));
        await eventually(async () => {
          const rows = await state().catch(() => new Map());
          const done = [...rows.values()].filter((row) => row.status === 'completed').length;
          return done >= CHILDREN / 5;
        }, 60_000);
        run.child.kill('SIGKILL');
        await run.exited;
        // What the dead process left committed: nothing changes it until the next server starts.
        const atKill = await state();
        const completedAtKill = [...atKill.values()].filter((row) => row.status === 'completed');
        const claimedAtKill = new Set([...atKill.values()].filter((r) => r.status === 'in_progress').map((r) => r.id));
        assert.ok(completedAtKill.length < CHILDREN, 'the kill came before the end of the run');

        const port = await freePort();
        const server = spawnApflow(['serve', '--host', '127.0.0.1', '--port', String(port)], { cwd: dir, env });
        t.after(() => server.child.kill('SIGKILL'));
        await waitListening(server);
        const after = await eventually(async () => {
          const rows = await state();
          const root = rows.get('root');
          return root?.status === 'completed' && root.run_state === null ? rows : undefined;
        }, 90_000);

        for (const row of completedAtKill) {
          const now = after.get(row.id);
          assert.equal(now?.completed_at, row.completed_at, `${row.id}, completed before the kill, did not run again`);
          assert.equal(now?.attempts, row.attempts, `${row.id} kept its attempts`);
        }
        const ranTwice = [...after.values()].filter((row) => row.id !== 'root' && (row.attempts ?? 0) > 1);
        const unexpected = ranTwice.filter((row) => !claimedAtKill.has(row.id)).map((row) => row.id);
        assert.deepEqual(unexpected, [], 'only tasks claimed (in_progress) at the kill ran a second time');
        for (const row of after.values()) assert.equal(row.status, 'completed', `${row.id} completed`);

        const replay = await sseSubscribe(t, `http://127.0.0.1:${port}`, 'restarted', 'root');
        await eventually(() => replay.ended, 30_000);
        const log: TaskEvent[] = replay.events;
        const gaps = log.filter((event, i) => event.seq !== i + 1).map((event) => event.seq);
        assert.deepEqual(gaps.slice(0, 5), [], 'the event log is numbered 1, 2, 3… without a gap');
        const completedEvents = new Map<string, number>();
        for (const event of log)
          if (event.type === 'task_completed' && event.task_id)
            completedEvents.set(event.task_id, (completedEvents.get(event.task_id) ?? 0) + 1);
        const twice = [...completedEvents].filter(([, n]) => n > 1).map(([id]) => id);
        assert.deepEqual(twice, [], 'each task completed once in the log');
        assert.equal(completedEvents.size, CHILDREN + 1, 'every task has its task_completed event');
        server.child.kill('SIGTERM');
        assert.equal(await server.exited, 0);
      },
    );
  });
}
