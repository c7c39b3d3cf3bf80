/** The checks of the schedules cluster tests: fires per fire time, gaps, catch-up shapes. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { firesPerPid, type Fire, type FireRow, type RootTask, type Schedule } from './schedules-cluster-setup.ts';

const SECOND = 1000;

/** How many fires each fire time had, for the fires given. */
export function perFireTime(fires: readonly Fire[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const fire of fires) counts.set(fire.fire_at, (counts.get(fire.fire_at) ?? 0) + 1);
  return counts;
}

/** Where fire times sorted ascending are not `stepMs` apart (a gap, or a fire between two periods). */
export function gaps(times: readonly string[], stepMs: number): string[] {
  const sorted = [...new Set(times)].sort();
  return sorted.slice(1).flatMap((time, i) => {
    const apart = Date.parse(time) - Date.parse(sorted[i] as string);
    return apart === stepMs ? [] : [`${sorted[i]} → ${time}: ${apart} ms apart`];
  });
}

/**
 * What breaks "exactly once" in a schedule's fires and the trees on the database: a fire time
 * fired other than once, fire times not `stepMs` apart, a fire not started on time or its tree
 * not completed, a fire without exactly one tree, a tree without a fire.
 */
export function exactlyOnceProblems(fires: readonly Fire[], roots: readonly RootTask[], stepMs: number): string[] {
  const problems: string[] = [];
  for (const [time, n] of perFireTime(fires)) if (n !== 1) problems.push(`fire time ${time}: ${n} fires`);
  problems.push(
    ...gaps(
      fires.map((fire) => fire.fire_at),
      stepMs,
    ),
  );
  for (const fire of fires) {
    const trees = roots.filter((root) => root.id === fire.root_task_id);
    if (fire.kind !== 'scheduled' || fire.state !== 'started' || fire.status !== 'completed')
      problems.push(`fire ${fire.fire_at}: ${fire.kind} ${fire.state}, tree ${fire.status} ${fire.error ?? ''}`);
    if (trees.length !== 1) problems.push(`fire ${fire.fire_at}: ${trees.length} trees`);
    else if (trees[0]?.status !== 'completed') problems.push(`fire ${fire.fire_at}: tree ${trees[0]?.status}`);
  }
  const fired = new Set(fires.map((fire) => fire.root_task_id));
  for (const root of roots) if (!fired.has(root.id)) problems.push(`tree ${root.id} (${root.status}) has no fire`);
  return problems;
}

/** A schedule's fires split at a restart of every server. */
export interface CatchUpView {
  /** Fires claimed before the restart, and after it. */
  before: Fire[];
  after: Fire[];
  /** The last fire time before the stop, and the first fire after the restart that was on time. */
  lastBefore: string | undefined;
  firstOnTime: string | undefined;
  /** The fire times in between: the ones no server was up for. */
  missedTimes: string[];
  /** Fire times of the catch_up fires, and the on-time ones after the restart. */
  catchUps: string[];
  onTimeAfter: Fire[];
}

/** Splits `fires` (oldest fire time first) at `restartedAt` (ms). */
export function catchUpView(fires: readonly Fire[], restartedAt: number, stepMs: number): CatchUpView {
  const before = fires.filter((fire) => Date.parse(fire.fired_at) < restartedAt);
  const after = fires.filter((fire) => Date.parse(fire.fired_at) >= restartedAt);
  const onTimeAfter = after.filter((fire) => fire.kind === 'scheduled');
  const lastBefore = before.at(-1)?.fire_at;
  const firstOnTime = onTimeAfter[0]?.fire_at;
  const missedTimes: string[] = [];
  if (lastBefore && firstOnTime)
    for (let at = Date.parse(lastBefore) + stepMs; at < Date.parse(firstOnTime); at += stepMs)
      missedTimes.push(new Date(at).toISOString());
  const catchUps = after.filter((fire) => fire.kind === 'catch_up').map((fire) => fire.fire_at);
  return { before, after, lastBefore, firstOnTime, missedTimes, catchUps, onTimeAfter };
}

/**
 * What breaks "exactly once" around a restart: a fire time fired other than once, a fire not
 * started or its tree not completed, fires before the stop or on time after the restart not
 * `stepMs` apart, a fire after the restart neither on time nor a catch_up of a missed time.
 */
export function catchUpProblems(
  fires: readonly Fire[],
  roots: readonly RootTask[],
  view: CatchUpView,
  stepMs: number,
): string[] {
  const problems: string[] = [];
  for (const [time, n] of perFireTime(fires)) if (n !== 1) problems.push(`fire time ${time}: ${n} fires`);
  for (const fire of fires) {
    const trees = roots.filter((root) => root.id === fire.root_task_id);
    if (fire.state !== 'started' || fire.status !== 'completed' || trees.length !== 1)
      problems.push(`fire ${fire.fire_at} (${fire.kind}): ${fire.state}, ${trees.length} tree(s) ${fire.status}`);
  }
  if (view.before.some((fire) => fire.kind !== 'scheduled')) problems.push('a fire before the stop was not on time');
  problems.push(
    ...gaps(
      view.before.map((fire) => fire.fire_at),
      stepMs,
    ).map((gap) => `before the stop: ${gap}`),
  );
  problems.push(
    ...gaps(
      view.onTimeAfter.map((fire) => fire.fire_at),
      stepMs,
    ).map((gap) => `after: ${gap}`),
  );
  const missed = new Set(view.missedTimes);
  for (const fire of view.after)
    if (fire.kind !== 'scheduled' && !(fire.kind === 'catch_up' && missed.has(fire.fire_at)))
      problems.push(`after the restart: a ${fire.kind} fire at ${fire.fire_at}, not a missed time`);
  return problems;
}

/** Reports how many fires each fire time had, and which processes claimed them. */
export function report(t: TestContext, fires: readonly Fire[], rows: readonly FireRow[]) {
  const times = [...perFireTime(fires).values()];
  t.diagnostic(
    `${fires.length} fires over ${times.length} fire times (${fires[0]?.fire_at} … ${fires.at(-1)?.fire_at}); ` +
      `fires per fire time: ${[...new Set(times)].join(', ')}; claims per pid: ${JSON.stringify(firesPerPid(rows))}`,
  );
}

/** The checks every interval test ends with, once the schedule is paused and its fires settled. */
export function assertExactlyOnce(
  settled: { fires: Fire[]; schedule: Schedule; firedAfterPause: number },
  roots: Parameters<typeof exactlyOnceProblems>[1],
  rows: readonly FireRow[],
  minFires: number,
) {
  const { fires, schedule, firedAfterPause } = settled;
  assert.deepEqual(exactlyOnceProblems(fires, roots, SECOND), []);
  assert.ok(fires.length >= minFires, `${fires.length} fires, at least ${minFires} expected`);
  assert.equal(firedAfterPause, 0, 'no fire after the pause');
  assert.deepEqual(
    { runs: schedule.runs, skipped: schedule.skipped, missed: schedule.missed, next: schedule.next_fire_at },
    { runs: fires.length, skipped: 0, missed: 0, next: null },
  );
  // One row per fire time in the table as well (its primary key), each claimed by a process.
  assert.deepEqual(
    rows.map((row) => row.fire_key),
    fires.map((fire) => fire.fire_at),
  );
}
