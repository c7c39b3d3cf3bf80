import {
  markReady,
  pendingCandidates,
  runsWithWork,
  selectRowsIn,
  selectStates,
} from '../storage/queries/run-queries.ts';
import { countRunStatuses, noCounts } from '../storage/queries/run-counts.ts';
import type { TaskCounts } from '../hooks/hook-types.ts';
import type { TreeTx } from './tree-tx.ts';
import type { TreeShape } from './tree-shape.ts';
import { TERMINAL_STATUSES } from '../tasks/task-record.ts';

/** A task that reached a terminal state (or was found in one) in this transaction. */
export interface SettledTask {
  id: string;
  status: string;
}

/** What to carry through one tree's run: tasks settled, and further tasks to check for readiness. */
export interface RunSettle {
  settled: readonly SettledTask[];
  /** Tasks to check as well (a run's start checks all of its pending tasks). */
  candidates?: Iterable<string>;
}

/** What settling changed. */
export interface Settlement {
  /** Tasks made claimable, over every run. */
  readied: number;
  /** Roots whose run has nothing left: its `final` event was appended and the tree no longer runs. */
  finished: Set<string>;
}

interface OpenRun {
  rootId: string;
  runId: string;
  shape: TreeShape;
  check: Set<string>;
  rootSettled: boolean;
}

/** Runs up to this many tasks are counted outright to see whether they ended. */
const COUNT_AT_ONCE_MAX = 64;

const because = (status: string) =>
  status === 'cancelled' ? 'was cancelled' : status === 'failed' ? 'failed' : 'did not complete';

/**
 * Carries settled tasks through their trees' active runs, inside the transaction that holds the
 * roots: dependents of a task that did not complete fail ("dependency X failed"), tasks with
 * nothing left to wait for (required dependencies completed, children of the run settled) are
 * made claimable, and a run with nothing left ends with its `final` event. Whoever settles a task
 * does this, on whichever server, so no server owns a tree. Many runs share each statement: a
 * turn that settles a hundred single-task trees reads and writes as one.
 */
export async function settleRuns(
  tx: TreeTx,
  runs: ReadonlyMap<string, RunSettle>,
  /** Tasks claimed in this transaction already (follow-ons): not pending, nothing to check. */
  claimed: ReadonlySet<string> = new Set(),
): Promise<Settlement> {
  const open = new Map<string, OpenRun>();
  let wave: { run: OpenRun; task: SettledTask }[] = [];
  for (const [rootId, entry] of runs) {
    const active = await tx.runShape(rootId);
    if (!active) continue;
    const run: OpenRun = {
      rootId,
      runId: active.runId,
      shape: active.shape,
      check: new Set(entry.candidates ?? []),
      rootSettled: false,
    };
    open.set(rootId, run);
    for (const task of entry.settled) wave.push({ run, task });
  }
  while (wave.length > 0) {
    const doomed = new Map<string, { run: OpenRun; error: string }>();
    for (const { run, task } of wave) {
      const { shape } = run;
      if (task.id === run.rootId) run.rootSettled = true;
      const next = nextInRun(shape, task.id);
      for (const dependent of next.dependents) {
        if (task.status === 'completed') run.check.add(dependent);
        else if (!doomed.has(dependent))
          doomed.set(dependent, { run, error: `dependency ${task.id} ${because(task.status)}` });
      }
      if (next.parent) run.check.add(next.parent);
    }
    wave = [];
    if (doomed.size === 0) break;
    await tx.sync();
    for (const row of await selectStates(tx.sql, tx.runner, [...doomed.keys()], ['pending'])) {
      const { run, error } = doomed.get(row.id) as { run: OpenRun; error: string };
      tx.set(row.id, {
        status: 'failed',
        error,
        completed_at: tx.now,
        updated_at: tx.now,
        ready_at: null,
        next_attempt_at: null,
      });
      tx.event('task_failed', { ...row, status: 'failed', error });
      run.check.delete(row.id);
      wave.push({ run, task: { id: row.id, status: 'failed' } });
    }
  }
  const readied = await readyThose(tx, [...open.values()], claimed);
  // A whole-tree run lasts at least as long as its root: while the root is not settled, there is
  // no need to look for what is left.
  const mayEnd = [...open.values()].filter(
    (run) =>
      !(
        run.shape.inRun.has(run.rootId) &&
        !run.rootSettled &&
        !TERMINAL_STATUSES.has(tx.roots.get(run.rootId)?.status ?? '')
      ),
  );
  return { readied, finished: await finishIfDone(tx, mayEnd) };
}

/** What a task settling in its run may let go on there: its required dependents, and its parent. */
function nextInRun(shape: TreeShape, id: string): { dependents: string[]; parent?: string } {
  if (!shape.inRun.has(id)) return { dependents: [] };
  const dependents = (shape.dependents.get(id) ?? [])
    .filter((dependent) => dependent.required && shape.inRun.has(dependent.id))
    .map((dependent) => dependent.id);
  const parent = shape.parent.get(id);
  return parent && shape.inRun.has(parent) ? { dependents, parent } : { dependents };
}

/** The probe sent ahead (see {@link probeAhead}). */
const PROBE_AHEAD = 'settle-probe';
interface ProbeAhead {
  ids: ReadonlySet<string>;
  rows: { id: string; waiting: boolean }[];
}

/**
 * Sends ahead the probe {@link settleRuns} will make once `completed` are written (held and
 * completed, as their engine believes): their parents and their required dependents in their
 * runs, as the runs' shapes last cached here say. Sent behind the endings' write, it travels in
 * the same round trip; settling takes it if nothing that may write was sent since and it probed
 * every task settling asks about (the shape read under the root's lock decides which).
 */
export function probeAhead(
  tx: TreeTx,
  completed: readonly { id: string; root_id: string; run_id: string | null }[],
): void {
  const ids = new Set<string>();
  for (const task of completed) {
    // Before the root's lock is answered: the run's shape as last cached here (a guess).
    const shape = task.run_id === null ? undefined : tx.shapes.latest(task.root_id, task.run_id);
    if (!shape) continue;
    const next = nextInRun(shape, task.id);
    for (const dependent of next.dependents) ids.add(dependent);
    if (next.parent) ids.add(next.parent);
  }
  // One statement's worth (pendingCandidates sends more in turn, each after the last answer).
  if (ids.size === 0 || ids.size > PROBE_AHEAD_MAX) return;
  tx.readAhead(PROBE_AHEAD, async (runner): Promise<ProbeAhead> => ({
    ids,
    rows: await pendingCandidates(tx.sql, runner, [...ids]),
  }));
}

/** Most tasks probed ahead: what pendingCandidates sends in one statement. */
const PROBE_AHEAD_MAX = 500;

/** Of the runs' tasks to check, marks claimable the pending ones with nothing left to wait for; returns how many. */
async function readyThose(tx: TreeTx, runs: readonly OpenRun[], claimed: ReadonlySet<string>): Promise<number> {
  const requires = new Map<string, readonly string[]>();
  for (const run of runs)
    for (const id of run.check)
      if (run.shape.inRun.has(id) && !claimed.has(id)) requires.set(id, run.shape.requires.get(id) ?? []);
  if (requires.size === 0) return 0;
  await tx.sync();
  const ahead = await tx.takeAhead<ProbeAhead>(PROBE_AHEAD);
  const probed =
    ahead && [...requires.keys()].every((id) => ahead.ids.has(id))
      ? ahead.rows.filter((row) => requires.has(row.id))
      : await pendingCandidates(tx.sql, tx.runner, [...requires.keys()]);
  const open = probed.filter((row) => !row.waiting).map((row) => row.id);
  if (open.length === 0) return 0;
  const depIds = new Set(open.flatMap((id) => requires.get(id) ?? []));
  const completed = new Set(
    depIds.size ? (await selectStates(tx.sql, tx.runner, [...depIds], ['completed'])).map((row) => row.id) : [],
  );
  const ready = open.filter((id) => (requires.get(id) ?? []).every((dep) => completed.has(dep)));
  await markReady(tx.sql, tx.runner, ready, tx.now);
  return ready.length;
}

/** Ends the runs that have none of their tasks left to settle: `final` event, tree no longer running. */
async function finishIfDone(tx: TreeTx, runs: readonly OpenRun[]): Promise<Set<string>> {
  const finished = new Set<string>();
  if (runs.length === 0) return finished;
  await tx.sync();
  const key = (run: OpenRun) => [run.rootId, run.runId] as const;
  let ending: OpenRun[];
  let counts: Map<string, TaskCounts>;
  if (runs.every((run) => run.shape.inRun.size <= COUNT_AT_ONCE_MAX)) {
    // Small runs (single-task jobs): their counts say which have work left, one statement fewer.
    counts = await countRunStatuses(tx.sql, tx.runner, runs.map(key));
    ending = runs.filter((run) => {
      const left = counts.get(run.rootId);
      return !left || left.pending + left.in_progress + left.input_required === 0;
    });
  } else {
    // A big run asks only whether any task is left (it stops at the first), every turn.
    const busy = await runsWithWork(tx.sql, tx.runner, runs.map(key));
    ending = runs.filter((run) => !busy.has(run.rootId));
    counts = ending.length ? await countRunStatuses(tx.sql, tx.runner, ending.map(key)) : new Map();
  }
  if (ending.length === 0) return finished;
  for (const root of await selectRowsIn(
    tx.sql,
    tx.runner,
    ending.map((run) => run.rootId),
  )) {
    const lock = tx.roots.get(root.id);
    if (lock) lock.run_state = null;
    tx.set(root.id, { run_state: null, active_run: null });
    // A root can complete with failed tasks under it: the run's outcome goes with its final event.
    tx.event('final', root, undefined, counts.get(root.id) ?? noCounts());
    finished.add(root.id);
  }
  return finished;
}

/**
 * Settles `batch` (if it holds anything) outside the work loop's turns (a cancel, a takeover):
 * tasks it readies are for any engine, so the commit says so to all of them.
 */
export async function settleAndWake(tx: TreeTx, batch: SettleBatch): Promise<void> {
  if (batch.size && (await settleRuns(tx, batch)).readied > 0) tx.notes.wake = true;
}

/** Settlements gathered per tree root for {@link settleRuns}. */
export type SettleBatch = Map<string, RunSettle & { settled: SettledTask[] }>;

/** The list of settled tasks of `rootId` in `batch`, added when missing. */
export function settledIn(batch: SettleBatch, rootId: string): SettledTask[] {
  let entry = batch.get(rootId);
  if (!entry) batch.set(rootId, (entry = { settled: [] }));
  return entry.settled;
}
