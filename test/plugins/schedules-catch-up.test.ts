// Issue 23, end to end: fires missed while no server ran (catch_up), and fires late within the
// grace — real `apflow serve` processes on a SQLite file, JSON-RPC over HTTP.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, sleep } from '../helpers.ts';
import { assertExactlyOnce, catchUpProblems, catchUpView, report } from './schedules-cluster-checks.ts';
import {
  createSchedule,
  firesOf,
  getSchedule,
  pauseAndSettle,
  project,
  rootsOf,
  serve,
  sqliteFireRows,
} from './schedules-cluster-setup.ts';

const SECOND = 1000;

test(
  'catch_up after every server was down: none fires no missed time, one fires one, all the latest catch_up_max',
  { timeout: 90_000 },
  async (t) => {
    // A fire more than 1 s late is a miss (the default grace, 60 s, would make 4 s of downtime on time).
    const cwd = project(t, { schedules: { misfire_grace_s: 1 } });
    const databaseUrl = `sqlite:${join(cwd, 'apflow.sqlite')}`;
    const first = await serve(t, 'first', cwd, databaseUrl, ['--port', '0']);
    const policies = [
      { catch_up: 'none', expected: 0 },
      { catch_up: 'one', expected: 1 },
      { catch_up: 'all', catch_up_max: 3, expected: 3 },
    ] as const;
    const schedules = await Promise.all(
      policies.map(async ({ expected: _expected, ...policy }) => ({
        ...policy,
        id: (await createSchedule(first.base, { name: `catch_up ${policy.catch_up}`, ...policy })).id,
      })),
    );
    await eventually(async () => {
      const got = await Promise.all(schedules.map((schedule) => getSchedule(first.base, schedule.id)));
      return got.every((schedule) => schedule.runs >= 2);
    }, 30_000);

    // Every server down for 4 s (and the restart's own time): several periods pass without a look.
    first.proc.child.kill('SIGTERM');
    await first.proc.exited;
    await sleep(4000);
    const restartedAt = Date.now();
    const second = await serve(t, 'second', cwd, databaseUrl, ['--port', '0']);
    await eventually(async () => {
      const all = await Promise.all(schedules.map((schedule) => firesOf(second.base, schedule.id)));
      // Three on-time fires after the restart each: the schedule goes on at its interval.
      return all.every((fires) => catchUpView(fires, restartedAt, SECOND).onTimeAfter.length >= 3);
    }, 30_000);
    const settled = await Promise.all(schedules.map((schedule) => pauseAndSettle(t, second.base, schedule.id)));
    const roots = await rootsOf(second.base);
    const fired = new Set(settled.flatMap(({ fires }) => fires.map((fire) => fire.root_task_id)));
    assert.deepEqual(
      roots.filter((root) => !fired.has(root.id)),
      [],
      'every tree belongs to a fire',
    );

    for (const [i, { fires, schedule }] of settled.entries()) {
      const { catch_up: policy, expected } = policies[i] as (typeof policies)[number];
      const view = catchUpView(fires, restartedAt, SECOND);
      t.diagnostic(
        `catch_up ${policy}: last fire before the stop ${view.lastBefore}, first on time after ${view.firstOnTime}, ` +
          `${view.missedTimes.length} fire times in between, catch_up fires ${JSON.stringify(view.catchUps)}, ` +
          `missed ${schedule.missed}`,
      );
      await t.test(`catch_up ${policy}`, () => {
        assert.ok(view.missedTimes.length >= 3, `the downtime spanned ${view.missedTimes.length} fire times`);
        assert.deepEqual(catchUpProblems(fires, roots, view, SECOND), []);
        assert.deepEqual(view.catchUps, view.missedTimes.slice(view.missedTimes.length - expected), 'catch_up fires');
        assert.equal(schedule.missed, view.missedTimes.length - expected, 'missed');
        assert.ok(view.onTimeAfter.length >= 3, 'the schedule goes on at its interval after the restart');
      });
    }
  },
);

test(
  'a server that looks 3 s late (stopped with SIGSTOP), within the grace: every due time fires, on time, once',
  { timeout: 60_000 },
  async (t) => {
    // misfire_grace_s is 60 (the default): fires 1 to 3 s late are on time, whatever catch_up says
    // (here its default, one), and none of them is a miss.
    const cwd = project(t);
    const server = await serve(t, 'late', cwd, `sqlite:${join(cwd, 'apflow.sqlite')}`, ['--port', '0']);
    const { id } = await createSchedule(server.base, { name: 'tick, late' });
    await eventually(async () => (await getSchedule(server.base, id)).runs >= 2, 30_000);
    process.kill(server.pid, 'SIGSTOP');
    await sleep(3200);
    process.kill(server.pid, 'SIGCONT');
    const resumedAt = Date.now();
    await eventually(
      async () => (await firesOf(server.base, id)).filter((fire) => Date.parse(fire.fired_at) >= resumedAt).length >= 2,
      30_000,
    );
    const settled = await pauseAndSettle(t, server.base, id);
    const rows = await sqliteFireRows(join(cwd, 'apflow.sqlite'), id);
    report(t, settled.fires, rows);
    t.diagnostic(`missed ${settled.schedule.missed}`);
    assertExactlyOnce(settled, await rootsOf(server.base), rows, 5);
  },
);
