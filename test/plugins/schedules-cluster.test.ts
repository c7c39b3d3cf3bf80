// Issue 23, end to end: a schedule fires exactly once per fire time whatever the number of servers
// and workers on one database — real `apflow serve` processes, JSON-RPC over HTTP; the fires'
// owners are read from schedules_fires to see which process claimed each (reported, not asserted).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, freePort } from '../helpers.ts';
import { freshPostgres } from '../scale-out/servers.ts';
import { assertExactlyOnce, exactlyOnceProblems, report } from './schedules-cluster-checks.ts';
import {
  createSchedule,
  getSchedule,
  claimedInStall,
  quiet,
  stallTreeWrites,
  ownerPid,
  pauseAndSettle,
  pgClient,
  pgFireRows,
  pgSkip,
  project,
  rootsOf,
  serve,
  sqliteFireRows,
  type Server,
} from './schedules-cluster-setup.ts';

const SECOND = 1000;

test(
  'an interval schedule on 3 servers on one PostgreSQL fires exactly once per fire time',
  { timeout: 90_000 },
  async (t) => {
    if (pgSkip) return t.skip(pgSkip);
    const databaseUrl = await freshPostgres(t);
    const cwd = project(t);
    const servers = await Promise.all([0, 1, 2].map((i) => serve(t, `s${i}`, cwd, databaseUrl, ['--port', '0'])));
    const [s0, s1, s2] = servers as [Server, Server, Server];
    const { id } = await createSchedule(s0.base, { name: 'tick on 3 servers' });

    await eventually(async () => (await getSchedule(s1.base, id)).runs >= 6, 30_000);
    const settled = await pauseAndSettle(t, s2.base, id);
    const roots = await rootsOf(s1.base);
    const rows = await pgFireRows(await pgClient(t, databaseUrl), id);
    report(t, settled.fires, rows);

    assertExactlyOnce(settled, roots, rows, 6);
    const pids = new Set(servers.map((server) => server.pid));
    assert.deepEqual(
      rows.filter((row) => !pids.has(ownerPid(row.owner))),
      [],
      'every fire was claimed by one of the servers',
    );
  },
);

test(
  'an interval schedule on `apflow serve --workers 2` with SQLite fires exactly once per fire time',
  { timeout: 90_000 },
  async (t) => {
    const cwd = project(t);
    const file = join(cwd, 'apflow.sqlite');
    const port = String(await freePort());
    const server = await serve(t, 'w', cwd, `sqlite:${file}`, ['--port', port, '--workers', '2']);
    const { id } = await createSchedule(server.base, { name: 'tick on 2 workers' });

    await eventually(async () => (await getSchedule(server.base, id)).runs >= 6, 30_000);
    const settled = await pauseAndSettle(t, server.base, id);
    const roots = await rootsOf(server.base);
    const rows = await sqliteFireRows(file, id);
    report(t, settled.fires, rows);

    assertExactlyOnce(settled, roots, rows, 6);
  },
);

test(
  'kill -9 of one of 3 servers on PostgreSQL: the others go on firing, take over its claimed fire, exactly once',
  { timeout: 90_000 },
  async (t) => {
    if (pgSkip) return t.skip(pgSkip);
    const databaseUrl = await freshPostgres(t);
    // A short lease: a fire claimed by the killed server is taken over 2 s after its claim.
    const cwd = project(t, { engine: { lease_s: 2 } });
    const servers = await Promise.all([0, 1, 2].map((i) => serve(t, `s${i}`, cwd, databaseUrl, ['--port', '0'])));
    const db = await pgClient(t, databaseUrl);
    const { id } = await createSchedule((servers[0] as Server).base, { name: 'tick through a kill' });
    await quiet((servers[1] as Server).base, id, 3);

    // A fire is claimed and started within milliseconds. So that the kill lands between the two,
    // tree writes stall for a moment (a database slow to store trees): the next fire is claimed
    // but its tree cannot be stored yet, and the server that claimed it is killed then.
    const stall = await stallTreeWrites(t, databaseUrl, db, id);
    const held = await claimedInStall(db, id, stall.before);
    const victim = servers.find((server) => server.pid === ownerPid(held.owner));
    assert.ok(victim, `fire ${held.fire_key} was claimed by ${held.owner}, one of the servers`);
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = Date.now();
    await victim.proc.exited;
    await stall.release();
    const [a, b] = servers.filter((server) => server !== victim) as [Server, Server];
    t.diagnostic(`killed ${victim.name} (pid ${victim.pid}) holding the claim of fire ${held.fire_key}`);

    // Its claim runs out (lease 2 s) and a survivor starts that fire.
    const taken = await eventually(async () => {
      const row = (await pgFireRows(db, id)).find((candidate) => candidate.fire_key === held.fire_key);
      return row?.state === 'started' && row;
    }, 30_000);
    t.diagnostic(
      `fire ${held.fire_key} taken over by pid ${ownerPid(taken.owner)} ${Date.now() - killedAt} ms after the kill`,
    );
    assert.notEqual(ownerPid(taken.owner), victim.pid, 'a survivor took the fire over');
    // The survivors go on firing every period.
    const runs = (await getSchedule(a.base, id)).runs;
    await eventually(async () => (await getSchedule(b.base, id)).runs >= runs + 4, 30_000);

    const settled = await pauseAndSettle(t, a.base, id);
    const roots = await rootsOf(b.base);
    const rows = await pgFireRows(db, id);
    report(t, settled.fires, rows);
    assertExactlyOnce(settled, roots, rows, 8);
    const after = rows.filter((row) => row.fire_key >= held.fire_key);
    assert.ok(after.length >= 5, `${after.length} fires from the killed server's claim on`);
    assert.deepEqual(
      after.filter((row) => ownerPid(row.owner) === victim.pid).map((row) => row.fire_key),
      [],
      'no fire from the kill on is left to the killed server',
    );
  },
);

test(
  'a server slower than its claim (its tree write stalled past engine.lease_s): the fire that is taken over still makes one tree',
  { timeout: 90_000 },
  async (t) => {
    if (pgSkip) return t.skip(pgSkip);
    const databaseUrl = await freshPostgres(t);
    const cwd = project(t, { engine: { lease_s: 1 } });
    const servers = await Promise.all([0, 1, 2].map((i) => serve(t, `s${i}`, cwd, databaseUrl, ['--port', '0'])));
    const [s0, s1, s2] = servers as [Server, Server, Server];
    const db = await pgClient(t, databaseUrl);
    // Every 3 s: the database is stalled between two fires, with no tree write in flight.
    const { id } = await createSchedule(s0.base, { name: 'tick through a stall', interval_s: 3 });
    await quiet(s1.base, id, 1);

    // Tree writes stall: the next fire is claimed, its tree write waits past the claim, another
    // server takes the fire over and writes its tree too.
    const stall = await stallTreeWrites(t, databaseUrl, db, id);
    const held = await claimedInStall(db, id, stall.before);
    const waitingInserts = async () => {
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO apflow_tasks%'",
      );
      return rows[0]?.n ?? 0;
    };
    const taken = await eventually(async () => {
      const row = (await pgFireRows(db, id)).find((candidate) => candidate.fire_key === held.fire_key);
      return row && row.owner !== held.owner && (await waitingInserts()) >= 2 && row;
    }, 30_000);
    await stall.release();
    t.diagnostic(
      `fire ${held.fire_key}: claimed by pid ${ownerPid(held.owner)}, taken over by pid ${ownerPid(taken.owner)} while both wrote its tree`,
    );

    const runs = (await getSchedule(s1.base, id)).runs;
    await eventually(async () => (await getSchedule(s2.base, id)).runs >= runs + 2, 30_000);
    const settled = await pauseAndSettle(t, s2.base, id);
    const rows = await pgFireRows(db, id);
    report(t, settled.fires, rows);
    assert.deepEqual(exactlyOnceProblems(settled.fires, await rootsOf(s0.base), 3 * SECOND), []);
  },
);
