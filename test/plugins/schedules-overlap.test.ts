import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { runsOf, scheduleApp, type Holds } from './schedules-setup.ts';

const slow = (ms: number) => [{ name: 'slow', schemas: { method: 'hold' }, inputs: { ms } }];

/** Watches how many runs of `hold` run at once, at most. */
function peakOf(holds: Holds) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, holds.running)), 5);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

test('overlap skip (the default): a fire while the previous run has not ended is skipped and counted', async (t) => {
  const holds: Holds = { running: 0, started: 0, aborted: 0 };
  const { call, url } = await scheduleApp(t, {}, holds);
  const peak = peakOf(holds);
  const { result } = await call<{ id: string; overlap: string }>('schedules.create', {
    name: 'slow',
    interval_s: 1,
    tasks: slow(2200),
  });
  assert.equal(result.overlap, 'skip');
  await eventually(
    async () => (await runsOf(call, result.id)).filter((run) => run.state === 'skipped').length >= 2,
    8000,
  );
  await call('schedules.pause', { id: result.id });
  assert.equal(peak.stop(), 1, 'never two runs of the schedule at once');
  const runs = await runsOf(call, result.id);
  assert.equal(runs[0]?.state, 'started');
  assert.ok(runs.filter((run) => run.state === 'skipped').every((run) => run.root_task_id === null));
  const got = await call<{ skipped: number; runs: number }>('schedules.get', { id: result.id });
  assert.equal(got.result.skipped, runs.filter((run) => run.state === 'skipped').length);
  // runs counts timed fires, skipped ones included (max_runs counts them).
  assert.equal(got.result.runs, runs.length);
  assert.match(await (await fetch(`${url}/metrics`)).text(), /apflow_schedule_skips_total [1-9]/);
});

test('overlap cancel_previous: each fire cancels the run before it; allow lets runs overlap', async (t) => {
  const holds: Holds = { running: 0, started: 0, aborted: 0 };
  const { app, call } = await scheduleApp(t, {}, holds);
  const { result } = await call<{ id: string }>('schedules.create', {
    name: 'latest wins',
    interval_s: 1,
    overlap: 'cancel_previous',
    tasks: slow(60_000),
  });
  await eventually(async () => (await runsOf(call, result.id)).length >= 3, 8000);
  await call('schedules.pause', { id: result.id });
  // A fire claimed as the pause came is started all the same.
  const runs = await eventually(async () => {
    const all = await runsOf(call, result.id);
    return all.every((run) => run.state !== 'claimed') && all;
  });
  assert.ok(
    runs.every((run) => run.state === 'started'),
    JSON.stringify(runs),
  );
  // Every run but the newest was cancelled by the next fire (a running one aborted).
  await eventually(async () => {
    const now = await Promise.all(
      runs.slice(0, -1).map(async (run) => (await app.tasks.get(run.root_task_id!))?.status),
    );
    return now.every((status) => status === 'cancelled');
  }, 8000);
  assert.ok(holds.aborted >= 1);
  await app.engine.cancel([runs.at(-1)!.root_task_id!]);

  const peak = peakOf(holds);
  const allow = await call<{ id: string }>('schedules.create', {
    name: 'side by side',
    interval_s: 1,
    overlap: 'allow',
    tasks: slow(2500),
  });
  await eventually(() => holds.running >= 2, 6000);
  await call('schedules.pause', { id: allow.result.id });
  assert.ok(peak.stop() >= 2);
  // A fire claimed as the pause came is started all the same.
  const allowed = await eventually(async () => {
    const all = await runsOf(call, allow.result.id);
    return all.every((run) => run.state !== 'claimed') && all;
  });
  assert.ok(
    allowed.every((run) => run.state === 'started'),
    JSON.stringify(allowed),
  );
});
