/**
 * Shared setup of the schedules cluster tests (issue 23): real `apflow serve` processes on one
 * database, schedules created and read over JSON-RPC, and the checks that a schedule fired exactly
 * once per fire time.
 */
import type { TestContext } from 'node:test';
import pg from 'pg';
import Database from 'better-sqlite3';
import { postgresAdminUrl } from '../databases.ts';
import { eventually, launchApflow, sleep, tempProject, waitListening, type SpawnedApflow } from '../helpers.ts';
import { call, TERMINAL } from '../scale-out/servers.ts';

if (!postgresAdminUrl && process.env.CI)
  throw new Error('CI must set APFLOW_TEST_POSTGRES_URL so the schedules cluster tests run');
/** Why the PostgreSQL tests are skipped (no PostgreSQL), or false. */
export const pgSkip = postgresAdminUrl
  ? false
  : 'APFLOW_TEST_POSTGRES_URL is not set: several servers need PostgreSQL (bash scripts/postgres.sh start, then export the URL it prints)';

/** The template of every schedule here: one task that completes at once. */
export const TICK = [{ name: 'tick', schemas: { method: 'system_info_executor' } }];

/** A fire as `schedules.runs` answers it. */
export interface Fire {
  fire_at: string;
  kind: string;
  state: string;
  root_task_id: string | null;
  status: string | null;
  fired_at: string;
  error: string | null;
}

/** The part of a schedule the tests read. */
export interface Schedule {
  id: string;
  runs: number;
  skipped: number;
  missed: number;
  enabled: boolean;
  next_fire_at: string | null;
}

/** A root task as `tasks.list` answers it. */
export interface RootTask {
  id: string;
  status: string;
}

/** One running `apflow serve` (with its workers, if any). */
export interface Server {
  name: string;
  base: string;
  /** The pid of the process started (the primary with `--workers`). */
  pid: number;
  proc: SpawnedApflow;
}

/** A project folder whose apflow.config.json is the JSON-logging config with `extra` over it. */
export function project(t: TestContext, extra: Record<string, unknown> = {}): string {
  const config = { examples: { auto_init: false }, log: { level: 'info', format: 'json' }, ...extra };
  return tempProject(t, { 'apflow.config.json': JSON.stringify(config) });
}

/** Starts `apflow serve` in `cwd` on `databaseUrl` (`args` after `serve`); killed when the test ends. */
export async function serve(t: TestContext, name: string, cwd: string, databaseUrl: string, args: string[] = []) {
  const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', ...args], {
    cwd,
    env: { APFLOW_DATABASE_URL: databaseUrl },
  });
  return { name, proc, pid: proc.child.pid as number, base: await waitListening(proc, 60_000) } satisfies Server;
}

/** The pid in a scheduler's owner id (`host/pid/random`): which process claimed a fire. */
export const ownerPid = (owner: string) => Number(owner.split('/').at(-2));

/** Creates an interval schedule of {@link TICK} on `base`. */
export const createSchedule = (base: string, params: Record<string, unknown>) =>
  call<Schedule>(base, 'schedules.create', { tasks: TICK, interval_s: 1, overlap: 'allow', ...params });

/** The schedule `id` as `schedules.get` answers it. */
export const getSchedule = (base: string, id: string) => call<Schedule>(base, 'schedules.get', { id });

/** Every fire of schedule `id` (up to 1000), oldest fire time first. */
export async function firesOf(base: string, id: string): Promise<Fire[]> {
  const fires = await call<Fire[]>(base, 'schedules.runs', { id, limit: 1000 });
  return fires.sort((a, b) => Date.parse(a.fire_at) - Date.parse(b.fire_at));
}

/** Every root task on the server (all the trees the fires created). */
export const rootsOf = (base: string) => call<RootTask[]>(base, 'tasks.list', { root_only: true, limit: 1000 });

/**
 * Pauses `id` on `base`, again when a claim changed the schedule between the read and the save
 * (APF_CONFLICT, -32005: the contract's "try again"); answers how many tries conflicted.
 */
export async function pause(base: string, id: string): Promise<number> {
  for (let conflicts = 0; ; conflicts++) {
    try {
      await call(base, 'schedules.pause', { id });
      return conflicts;
    } catch (error) {
      if (conflicts >= 20 || !String(error).includes('-32005')) throw error;
    }
  }
}

/**
 * Pauses `id`, waits until each of its fires has started and its tree ended, then looks again
 * 1.5 s later (a period and a half of a 1 s interval) to count any fire that came after the pause;
 * answers the fires, the schedule and that count.
 */
export async function pauseAndSettle(t: TestContext, base: string, id: string) {
  const conflicts = await pause(base, id);
  if (conflicts) t.diagnostic(`schedules.pause met ${conflicts} conflict(s) with a claim and was tried again`);
  const settled = async () => {
    const fires = await firesOf(base, id);
    const done = fires.every((fire) => fire.state !== 'claimed' && (fire.status === null || TERMINAL.has(fire.status)));
    return done && fires;
  };
  const before = await eventually(settled, 20_000);
  await sleep(1500);
  const fires = await eventually(settled, 20_000);
  const schedule = await getSchedule(base, id);
  return { fires, schedule, firedAfterPause: fires.length - before.length };
}

/** A fire's row in `schedules_fires`: its key (the ISO fire time), who claimed it, where it got to. */
export interface FireRow {
  fire_key: string;
  owner: string;
  state: string;
}

/** A PostgreSQL client on `databaseUrl`, ended when the test ends. */
export async function pgClient(t: TestContext, databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  return client;
}

/** The rows of schedule `id` in `schedules_fires`, read from PostgreSQL (the assertion, not the behaviour). */
export async function pgFireRows(client: pg.Client, id: string): Promise<FireRow[]> {
  const { rows } = await client.query<FireRow>(
    'SELECT fire_key, owner, state FROM schedules_fires WHERE schedule_id = $1 ORDER BY fire_key',
    [id],
  );
  return rows;
}

/** The rows of schedule `id` in `schedules_fires`, read from a SQLite file. */
export async function sqliteFireRows(file: string, id: string): Promise<FireRow[]> {
  // The same SQLite library as apflow's in this process (two copies do not see each other's locks).
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    return db
      .prepare('SELECT fire_key, owner, state FROM schedules_fires WHERE schedule_id = ? ORDER BY fire_key')
      .all(id) as FireRow[];
  } finally {
    db.close();
  }
}

/** Fires per claiming process (pid → count), for the report. */
export function firesPerPid(rows: readonly FireRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { owner } of rows) counts[ownerPid(owner)] = (counts[ownerPid(owner)] ?? 0) + 1;
  return counts;
}

/** Waits until schedule `id` has fired at least `min` times and every fire's tree has completed. */
export const quiet = (base: string, id: string, min: number) =>
  eventually(async () => {
    const fires = await firesOf(base, id);
    return fires.length >= min && fires.every((fire) => fire.status === 'completed');
  }, 30_000);

/**
 * Stalls every tree write on the database (a SHARE lock on apflow_tasks: reads go on, inserts and
 * updates of tasks wait) until `release`. Taken between fires (see {@link quiet}), so no write is
 * in flight: the next fire is claimed (schedules_fires) but its tree cannot be stored. Answers the
 * fire keys of schedule `id` that existed when the lock was taken, and `release`.
 */
export async function stallTreeWrites(t: TestContext, databaseUrl: string, db: pg.Client, id: string) {
  const locker = await pgClient(t, databaseUrl);
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE apflow_tasks IN SHARE MODE');
  const before = new Set((await pgFireRows(db, id)).map((row) => row.fire_key));
  return { before, release: () => locker.query('ROLLBACK') };
}

/** The first fire of schedule `id` claimed (and so not started) while tree writes stall. */
export const claimedInStall = (db: pg.Client, id: string, before: ReadonlySet<string>) =>
  eventually(
    async () => (await pgFireRows(db, id)).find((row) => row.state === 'claimed' && !before.has(row.fire_key)),
    10_000,
  );
