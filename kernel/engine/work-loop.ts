import type { TaskRow } from '../tasks/task-record.ts';
import type { RunBegun, RunToBegin } from './begin-runs.ts';
import { beginAll, type PendingBegin } from './begin-all.ts';
import { claimAhead, claimReady, type ClaimLimits } from './claim-ready.ts';
import { leaseUntil, type EngineCore } from './engine-core.ts';
import { createRunningTasks } from './running-tasks.ts';
import { endingOf } from './task-ending.ts';
import type { TreeTx } from './tree-tx.ts';
import { createWakeTimes } from './wake-times.ts';
import { writeReports, type Report } from './write-reports.ts';
import { TreesNotInserted } from './insert-new-trees.ts';
import { CommitUnknownError } from '../storage/transient-retry.ts';

/** What one turn decided; applied by {@link createWorkLoop}'s `apply` once it committed. */
interface TurnResult {
  /** The begins that were begun (all, unless their new trees could not be inserted), and how. */
  starting: readonly PendingBegin[];
  begun: RunBegun[];
  /** Begins whose new tree was not inserted (an id was taken): not begun. */
  notInserted: ReadonlySet<PendingBegin>;
  /** Tasks whose report was refused: what this engine believed of them is wrong. */
  refused: Set<string>;
  claimed: TaskRow[];
  /** Tasks of new trees that went in claimed by this engine (remembered as running already). */
  taken: TaskRow[];
  /** The {@link readyNews} this turn's claim saw with no claimable task left, if it did. */
  drainedAt?: number;
}

/**
 * The engine's work loop. Tasks running here report (progress, endings, follow-ons they
 * unblock) and requests ask to begin runs; a turn writes all of them in one transaction under
 * their roots' locks and claims ready tasks for the free slots in the same transaction. Only once
 * the turn committed are its effects applied here: runs remembered, claimed tasks and follow-ons
 * launched. A failed turn is retried with backoff; nothing is dropped.
 */
export function createWorkLoop(core: EngineCore) {
  const { settings, log } = core;
  let reports: Report[] = [];
  let begins: PendingBegin[] = [];
  /** Follow-ons asked for and not launched yet: they hold a slot. */
  let reserved = 0;
  let loop: Promise<void> | null = null;
  let again = false;
  let failures = 0;
  /**
   * Counts kicks that may mean ready tasks no turn of this loop has seen: another engine's signal,
   * a heartbeat, a backoff ending, a start, a begin, or a commit here outside the turns that left
   * ready tasks (the transactor's `readied`). A turn looks for ready tasks only when there is news
   * since a claim found none left, or when it readied some itself: a chain's turn runs no claim.
   */
  let readyNews = 1;
  let drainedAt = 0;
  /** The next turn is an ordinary one (one made at once failed). */
  let plainNext = false;
  /**
   * Whether a turn may be written at once (`Transact`'s `atOnce`: on PostgreSQL one statement):
   * when it only begins new trees — a job's start — and has nothing to claim. Under per-user or
   * cluster limits a new tree's tasks go in unclaimed, for the claim that counts them.
   */
  const mayGoAtOnce = (batch: readonly Report[], begin: readonly PendingBegin[]) =>
    batch.length === 0 &&
    begin.length > 0 &&
    !limited &&
    drainedAt === readyNews &&
    begin.every((pending) => pending.run.create);
  /** Tasks claimed while closing: handed back, never launched. */
  const handBack: TaskRow[] = [];
  // Per-user or cluster limits count every claim in the database: no follow-ons then.
  const limited = settings.per_user_concurrency !== undefined || settings.cluster_concurrency !== undefined;

  const mayClaim = () => core.mode === 'server' || core.mode === 'command';
  const freeSlots = () => (mayClaim() ? settings.concurrency - running.count() - reserved : 0);

  const running = createRunningTasks(core, {
    progress(row, progress, message) {
      const subject = { id: row.id, root_id: row.root_id, status: 'in_progress' as const, progress, error: null };
      reports.push({ kind: 'progress', subject, ...(message === undefined ? {} : { message }) });
      nudge();
    },
    steps(row, steps, saved) {
      reports.push({ kind: 'steps', subject: row, steps, saved });
      nudge();
    },
    ended(row, outcome) {
      const { report, retryAt } = endingOf(row, outcome, settings.max_tree_size);
      // A suspended task returns through the database: what is remembered of its run is dropped.
      if (outcome.status === 'suspended' && row.run_id) core.memory.drop(row.root_id, row.run_id);
      else core.memory.ended(row, { ...report.change, status: report.row.status });
      reports.push(report);
      if (retryAt !== undefined) wakeTimes.add(retryAt);
      if (report.row.status === 'completed') askFollowOns(report.row);
      nudge();
    },
    freed: () => nudge(),
  });

  /** Asks to claim, with the next turn, what `completed` unblocks (when this engine remembers its run). */
  const askFollowOns = (completed: TaskRow) => {
    if (limited || freeSlots() <= 0) return;
    const claim = { lease_owner: core.owner, lease_expires_at: leaseUntil(core), started_at: new Date().toISOString() };
    for (const followOn of core.memory.followOns(completed, claim)) {
      // Its inputs now hold its dependencies' results: secret ones are stored sealed.
      if (core.secrets) followOn.row.inputs = core.secrets.seal(followOn.row);
      if (freeSlots() <= 0) {
        core.memory.released(followOn.row);
        continue;
      }
      reserved++;
      reports.push({ kind: 'follow-on', followOn });
    }
  };

  const turn = async (tx: TreeTx, batch: readonly Report[], begin: readonly PendingBegin[]): Promise<TurnResult> => {
    const heard = readyNews;
    // A follow-on's lease runs from its claim's write, not from when it was asked for (a turn
    // retried after a lost connection may be written seconds later).
    for (const report of batch)
      if (report.kind === 'follow-on')
        Object.assign(report.followOn.row, { lease_expires_at: leaseUntil(core), started_at: tx.now });
    const { starting, runs, notInserted, ...started } = await beginAll(tx, begin, {
      slots: limited ? 0 : freeSlots(),
      leaseUntil: leaseUntil(core),
    });
    // Counted when asked for, not when the turn was: other transactions may have claimed meanwhile.
    const limits = (): ClaimLimits => ({
      slots: freeSlots() - started.taken.length,
      perUser: settings.per_user_concurrency,
      cluster: settings.cluster_concurrency,
      pinnedOnly: core.mode === 'command',
      leaseUntil: leaseUntil(core),
    });
    // With news of ready tasks, this turn claims whatever settling readies: on PostgreSQL the
    // claim can go ahead, with the endings (its slots held meanwhile from follow-ons asked for).
    const claims = !tx.atOnce && drainedAt !== heard;
    let early = 0;
    const claimEarly = (held: readonly string[]) => {
      early = claimAhead(tx, limits(), held);
      reserved += early;
    };
    let written: Awaited<ReturnType<typeof writeReports>>;
    try {
      written = await writeReports(tx, batch, claims ? claimEarly : undefined);
    } finally {
      reserved -= early;
    }
    const readied = written.readied + started.readied;
    // A turn made at once reads nothing: ready tasks it leaves wake a turn that claims (below).
    const claim =
      claims || (!tx.atOnce && readied > 0)
        ? await claimReady(tx, limits(), core.secrets?.seal)
        : { rows: [], drained: false };
    if (readied > claim.rows.length) tx.notes.wake = true;
    for (const run of runs) if (run.begun) run.lastSeq = tx.roots.get(run.rootId)?.event_seq;
    return {
      starting,
      begun: runs,
      notInserted,
      refused: written.refused,
      claimed: claim.rows,
      taken: started.taken,
      ...(claim.drained ? { drainedAt: heard } : {}),
    };
  };

  /** Applies a committed turn here: the one place the engine's memory and launches follow the database. */
  const apply = (result: TurnResult, batch: readonly Report[]) => {
    if (result.drainedAt !== undefined) drainedAt = result.drainedAt;
    for (const run of result.begun)
      if (run.begun && run.memory)
        core.memory.remember(run.rootId, run.runId, run.memory.shape, run.memory.pinnedTo, run.memory.rows);
    result.starting.forEach((pending, i) => pending.answer(result.begun[i] as RunBegun));
    for (const pending of result.notInserted) pending.failed(new TreesNotInserted());
    for (const report of batch) {
      if (report.kind === 'progress') continue;
      if (report.kind === 'steps') {
        report.saved(!result.refused.has(report.subject.id));
        continue;
      }
      const row = report.kind === 'follow-on' ? report.followOn.row : report.row;
      const refused = result.refused.has(row.id);
      if (refused) core.memory.forget(row);
      if (report.kind !== 'follow-on') continue;
      reserved--;
      if (!refused) launch(row);
    }
    for (const row of result.claimed) {
      core.memory.claimed(row);
      launch(row);
    }
    for (const row of result.taken) launch(row);
    if (result.refused.size) dropFollowOnsOf(result.refused);
  };

  /**
   * Drops the follow-ons asked for while a turn was written that rely on a task whose write it
   * refused: the next turn could not tell (their gate's refusal is not in its batch), and they
   * must not run on an ending that was never stored.
   */
  const dropFollowOnsOf = (refused: ReadonlySet<string>) => {
    reports = reports.filter((report) => {
      if (report.kind !== 'follow-on' || !report.followOn.gates.some((gate) => refused.has(gate))) return true;
      reserved--;
      core.memory.released(report.followOn.row);
      return false;
    });
  };
  const launch = (row: TaskRow) => (core.mode === 'closing' ? handBack.push(row) : running.launch(row));

  /** Begins runs of a failed turn one by one, each in its own transaction: one bad start fails alone. */
  const beginAlone = (begin: readonly PendingBegin[]) => {
    for (const pending of begin)
      core.transact((tx) => turn(tx, [], [pending])).then((result) => apply(result, []), pending.failed);
  };

  const work = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    while (again) {
      again = false;
      const batch = reports;
      const begin = begins;
      if (batch.length === 0 && begin.length === 0 && freeSlots() <= 0) continue;
      reports = [];
      begins = [];
      running.forgetEarlyAborts();
      const atOnce = !plainNext && mayGoAtOnce(batch, begin);
      plainNext = false;
      let result: TurnResult;
      try {
        result = await core.transact((tx) => turn(tx, batch, begin), { atOnce });
        failures = 0;
      } catch (error) {
        if (atOnce && !(error instanceof CommitUnknownError)) {
          // Nothing was written (an id was taken, say): the same begins go in an ordinary turn.
          begins = [...begin, ...begins];
          plainNext = again = true;
          continue;
        }
        failures++;
        log.error({ err: error, attempt: failures }, 'task write failed; retrying');
        reports = [...batch, ...reports];
        if (begin.length === 1) (begin[0] as PendingBegin).failed(error);
        else beginAlone(begin);
        again = true;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 * 2 ** failures)));
        continue;
      }
      // Outside the try: what committed is applied once, never queued again.
      apply(result, batch);
    }
  };
  /** Runs a turn soon for what tasks running here reported. */
  const nudge = () => {
    again = true;
    loop ??= work().finally(() => {
      loop = null;
      if (again) nudge();
    });
  };
  /** Runs a turn soon that also looks for ready tasks: there may be news. */
  const kick = () => {
    readyNews++;
    nudge();
  };
  const wakeTimes = createWakeTimes(kick);

  return {
    /**
     * Begins a run with the next turn (with the others asked for meanwhile and the reports
     * waiting: one transaction), which also claims for free slots, so its first tasks start here
     * at once. Resolves once committed; `onBegun` is called first, before any of its tasks starts.
     */
    begin(run: RunToBegin, onBegun: (begun: RunBegun) => void = () => undefined): Promise<RunBegun> {
      return new Promise((resolve, failed) => {
        const answer = (begun: RunBegun) => {
          try {
            onBegun(begun);
          } catch (error) {
            log.error({ err: error }, 'a run-begun listener threw');
          }
          resolve(begun);
        };
        begins.push({ run, answer, failed });
        // A new tree's ready tasks are known without asking the database: news only of a stored one.
        if (run.create) nudge();
        else kick();
      });
    },
    kick,
    wakeAt: (at: number) => wakeTimes.add(at),
    /** The executors running here. */
    running,
    /**
     * Stops claiming (the engine's mode is `closing`), waits up to `graceMs` for running tasks,
     * writes everything out, and returns the tasks to hand back to the queue.
     */
    async close(graceMs: number): Promise<TaskRow[]> {
      wakeTimes.clear();
      const left = await running.stop(graceMs);
      kick();
      while (loop) await loop;
      return [...left, ...handBack.splice(0)];
    },
  };
}

/** The engine's work loop. */
export type WorkLoop = ReturnType<typeof createWorkLoop>;
