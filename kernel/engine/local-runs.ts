import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { retryDelayMs } from './run-rules.ts';
import { runTask, type RunOutcome } from './run-task.ts';
import type { TreeTx } from './tree-tx.ts';
import type { Transact } from './transactor.ts';
import { continueLocally } from './continue-locally.ts';
import { writeReports, type Report } from './write-reports.ts';
import { startRuns, type RunStart, type RunStarted } from './start-run.ts';
import type { ShapeCache } from './tree-shape.ts';

interface Running {
  row: TaskRow;
  abort: AbortController;
  /** Cancelled, taken over or handed back: how it ends is not written. */
  lost: boolean;
  /** Its claim is in the database (false while a continuation waits for its batch). */
  committed: boolean;
}

/** A run to start with the next turn, and who waits for the answer. */
interface PendingStart {
  start: RunStart;
  /** Called with the answer once committed, before any task of the run starts here. */
  done: (started: RunStarted) => void;
  failed: (error: unknown) => void;
}

/**
 * The tasks this engine runs, and its work loop: what runs report is written in batches (one
 * transaction per turn, under the roots' locks, guarded by the lease: a task cancelled or taken
 * over meanwhile keeps the database's state), carried through their runs, and the same
 * transaction claims as many ready tasks as there are free slots. A failed commit is retried
 * with backoff; nothing is dropped.
 */
export function createLocalRuns(options: {
  settings: { concurrency: number; default_timeout_s?: number };
  owner: string;
  hooks: () => Hooks;
  executor: (id: string) => RegisteredExecutor | undefined;
  executorIds: () => string[];
  requestState: (rootId: string) => Record<string, unknown> | undefined;
  transact: Transact;
  claim: (tx: TreeTx, slots: number) => Promise<TaskRow[]>;
  mayClaim: () => boolean;
  shapes: ShapeCache;
  /** Per-user or cluster limits are set: every claim must count in the database, no continuation. */
  limited: boolean;
  leaseUntil: () => string;
  outbound: Outbound;
  log: Logger;
}) {
  const { settings, log } = options;
  const running = new Map<string, Running>();
  let reports: Report[] = [];
  let starts: PendingStart[] = [];
  let loop: Promise<void> | null = null;
  let again = false;
  let closing = false;
  let failures = 0;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAt = Infinity;

  const freeSlots = () => (closing || !options.mayClaim() ? 0 : settings.concurrency - running.size);

  const mirrorOf = (row: TaskRow) => (row.run_id ? options.shapes.peek(row.root_id, row.run_id)?.mirror : undefined);

  const turn = async (
    tx: TreeTx,
    batch: readonly Report[],
    begin: readonly PendingStart[],
  ): Promise<{ claimed: TaskRow[]; started: RunStarted[] }> => {
    const begun = begin.length
      ? await startRuns(
          tx,
          begin.map((pending) => pending.start),
        )
      : { runs: [], readied: 0 };
    const written = await writeReports(tx, batch);
    const refused = written.refused;
    const readied = written.readied + begun.readied;
    for (const report of batch) {
      if (report.kind === 'progress') continue;
      const row = report.kind === 'claim' ? report.continuation.row : report.row;
      if (!refused.has(row.id)) continue;
      // What this engine believed of the task is wrong: forget it, and stop a run started ahead.
      mirrorOf(row)?.rows.delete(row.id);
      if (report.kind === 'claim') abortRun(row.id, new Error('its start was refused: the tree changed elsewhere'));
    }
    // Counted now, not when the turn was asked for: other transactions may have claimed meanwhile.
    const claimed = await options.claim(tx, freeSlots());
    if (readied > claimed.length) tx.notes.wake = true;
    for (const run of begun.runs) if (run.started) run.lastSeq = tx.roots.get(run.rootId)?.event_seq;
    return { claimed, started: begun.runs };
  };

  /** Starts runs of a failed turn one by one, each in its own transaction: one bad start fails alone. */
  const startAlone = (begin: readonly PendingStart[]) => {
    for (const pending of begin) {
      options
        .transact((tx) => turn(tx, [], [pending]))
        .then(({ claimed, started }) => {
          pending.done(started[0] as RunStarted);
          start(claimed);
        }, pending.failed);
    }
  };

  const work = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    while (again) {
      again = false;
      const batch = reports;
      const begin = starts;
      if (batch.length === 0 && begin.length === 0 && freeSlots() <= 0) continue;
      reports = [];
      starts = [];
      try {
        const { claimed, started } = await options.transact((tx) => turn(tx, batch, begin));
        begin.forEach((pending, i) => pending.done(started[i] as RunStarted));
        start(claimed);
        for (const report of batch) {
          const entry = report.kind === 'claim' ? running.get(report.continuation.row.id) : undefined;
          if (entry) entry.committed = true;
        }
        failures = 0;
      } catch (error) {
        failures++;
        log.error({ err: error, attempt: failures }, 'task write failed; retrying');
        reports = [...batch, ...reports];
        if (begin.length === 1) (begin[0] as PendingStart).failed(error);
        else startAlone(begin);
        again = true;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 * 2 ** failures)));
      }
    }
  };
  const kick = () => {
    again = true;
    loop ??= work().finally(() => {
      loop = null;
      if (again) kick();
    });
  };

  const finished = (row: TaskRow, outcome: RunOutcome) => {
    const entry = running.get(row.id);
    running.delete(row.id);
    if (!entry || entry.lost || outcome.status === 'aborted') return kick();
    const now = new Date().toISOString();
    const done = { completed_at: now, updated_at: now, lease_owner: null, lease_expires_at: null };
    let report: Report;
    if (outcome.status === 'completed') {
      report = {
        kind: 'finish',
        row,
        change: { status: 'completed', progress: 1, result: outcome.result, error: null, ...done },
        type: 'task_completed',
        settled: true,
      };
    } else {
      const retries = Number(row.params?.retries ?? 0);
      if (outcome.retryable && row.attempts <= retries) {
        const delay = retryDelayMs(row);
        const at = new Date(Date.now() + delay).toISOString();
        const change = {
          status: 'pending' as const,
          error: outcome.error,
          next_attempt_at: at,
          ready_at: at,
          updated_at: now,
          lease_owner: null,
          lease_expires_at: null,
        };
        report = {
          kind: 'finish',
          row,
          change,
          type: 'progress',
          message: `Retrying in ${delay / 1000}s (attempt ${row.attempts + 1} of ${retries + 1}): ${outcome.error}`,
          settled: false,
        };
        wake(Date.now() + delay);
      } else {
        report = {
          kind: 'finish',
          row,
          change: { status: 'failed', error: outcome.error, ...done },
          type: 'task_failed',
          settled: true,
        };
      }
    }
    Object.assign(row, report.change);
    const mirrored = mirrorOf(row)?.rows.get(row.id);
    if (mirrored) Object.assign(mirrored, report.change);
    reports.push(report);
    if (row.status === 'completed') continueAfter(row);
    kick();
  };

  /** Starts at once what `row` unblocks, when this engine knows enough (see continueLocally). */
  const continueAfter = (row: TaskRow) => {
    if (options.limited || freeSlots() <= 0 || !row.run_id) return;
    const shape = options.shapes.peek(row.root_id, row.run_id);
    if (!shape?.mirror) return;
    const now = new Date().toISOString();
    for (const continuation of continueLocally(shape, row, {
      lease_owner: options.owner,
      lease_expires_at: options.leaseUntil(),
      started_at: now,
    })) {
      if (freeSlots() <= 0) {
        (shape.mirror.rows.get(continuation.row.id) as TaskRow).status = 'pending';
        continue;
      }
      reports.push({ kind: 'claim', continuation });
      // The run changes its own row as it goes; the claim report keeps the row as claimed.
      launch({ ...continuation.row }, false);
    }
  };

  const start = (rows: readonly TaskRow[]) => {
    for (const row of rows) {
      const mirrored = mirrorOf(row)?.rows.get(row.id);
      if (mirrored) mirrored.status = 'in_progress';
      launch(row, true);
    }
  };
  const launch = (row: TaskRow, committed: boolean) => {
    {
      const abort = new AbortController();
      running.set(row.id, { row, abort, lost: false, committed });
      const timeout = row.params?.timeout_s;
      // Each run starts on its own turn of the event loop, so a burst of quick tasks still lets
      // commits and HTTP requests through in between.
      setImmediate(
        () =>
          void runTask({
            task: row,
            signal: abort.signal,
            timeoutS: typeof timeout === 'number' && timeout > 0 ? timeout : settings.default_timeout_s,
            hooks: options.hooks(),
            executor: options.executor,
            executorIds: options.executorIds,
            requestState: options.requestState(row.root_id),
            demo: row.run_demo,
            outbound: options.outbound,
            progress: (progress, message) => {
              if (row.status !== 'in_progress' || !Number.isFinite(progress)) return;
              row.progress = Math.min(1, Math.max(0, progress));
              reports.push({
                kind: 'progress',
                subject: {
                  id: row.id,
                  root_id: row.root_id,
                  status: 'in_progress',
                  progress: row.progress,
                  error: null,
                },
                ...(message === undefined ? {} : { message }),
              });
              kick();
            },
            log,
          }).then((outcome) => finished(row, outcome)),
      );
    }
  };

  const abortRun = (id: string, reason: unknown) => {
    const entry = running.get(id);
    if (!entry) return;
    entry.lost = true;
    entry.abort.abort(reason);
  };

  /** Kicks the loop at `at` (ms epoch): a retry's backoff ends then. */
  const wake = (at: number) => {
    if (at >= wakeAt) return;
    clearTimeout(wakeTimer);
    wakeAt = at;
    wakeTimer = setTimeout(
      () => {
        wakeAt = Infinity;
        kick();
      },
      Math.max(0, at - Date.now()),
    );
    wakeTimer.unref();
  };

  return {
    /**
     * Starts a run with the next turn (with the other runs started meanwhile, and the reports
     * waiting: one transaction), which also claims for free slots: its first tasks start here at
     * once. Resolves once committed; `prepare` is called first, before any of its tasks starts.
     */
    startRun(run: RunStart, prepare: (started: RunStarted) => void = () => undefined): Promise<RunStarted> {
      return new Promise((done, failed) => {
        starts.push({ start: run, done: (started) => (prepare(started), done(started)), failed });
        kick();
      });
    },
    /** Runs claimed tasks here. */
    start,
    /** Runs a turn soon: writes what runs reported, claims for free slots. */
    kick,
    wakeAt: wake,
    /** Aborts these tasks if they run here; how they end is not written (someone else decided). */
    abort(ids: readonly string[], reason: unknown): void {
      for (const id of ids) abortRun(id, reason);
    },
    /** Tasks running here whose claim is written (the ones the lease covers). */
    ids: () => [...running].filter(([, entry]) => entry.committed).map(([id]) => id),
    roots: () => [...new Set([...running.values()].map((entry) => entry.row.root_id))],
    count: () => running.size,
    /**
     * Stops claiming, waits up to `graceMs` for running tasks, hands the others back to the
     * queue, and writes everything out.
     */
    async close(graceMs: number, handBack: (rows: TaskRow[]) => Promise<void>): Promise<void> {
      closing = true;
      clearTimeout(wakeTimer);
      const deadline = Date.now() + graceMs;
      while (running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const left = [...running.values()];
      for (const entry of left) {
        entry.lost = true;
        entry.abort.abort(new Error('shutdown'));
      }
      kick();
      while (loop) await loop;
      if (left.length)
        await handBack(left.map((entry) => entry.row)).catch((error: unknown) =>
          log.error({ err: error }, 'could not hand tasks back'),
        );
    },
  };
}
