import type { TaskEventType } from '../hooks/hook-types.ts';
import { claimFollowOn, heldBy } from '../storage/queries/run-queries.ts';
import { updateTasks } from '../storage/queries/update-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TaskSteps } from '../tasks/task-wait.ts';
import { addSpawned, checkSpawns } from './spawn-write.ts';
import type { FollowOn } from './follow-ons.ts';
import { probeAhead, settledIn, settleRuns, type SettleBatch } from './settle-run.ts';
import type { EventSubject } from './task-events.ts';
import type { TreeTx } from './tree-tx.ts';

/**
 * A write a task running here asks for: its progress, its durable memory (`steps`: `saved` is
 * told whether it was written), how it ended (`settled`: it ended for good, so its run goes on;
 * a suspension may add the tasks it `spawned`), or the claim of a follow-on it unblocked.
 */
export type Report =
  | { kind: 'progress'; subject: EventSubject; message?: string }
  | { kind: 'steps'; subject: EventSubject; steps: TaskSteps; saved: (held: boolean) => void }
  | {
      kind: 'end';
      row: TaskRow;
      change: Partial<TaskRow>;
      type: TaskEventType;
      message?: string;
      settled: boolean;
      /** Tasks a suspension adds under the task, and the most tasks its tree may then hold. */
      spawned?: { rows: TaskRow[]; maxTreeSize: number };
    }
  | { kind: 'follow-on'; followOn: FollowOn };

const subjectOf = (report: Report): EventSubject =>
  report.kind === 'progress' || report.kind === 'steps'
    ? report.subject
    : report.kind === 'follow-on'
      ? report.followOn.row
      : report.row;

/**
 * Writes a batch of reports inside `tx`, in order, under their roots' locks: progress and
 * endings only of tasks this engine still holds (a task cancelled or taken over meanwhile keeps
 * the database's state), follow-on claims only if the task is still pending in its run and none
 * of the reports it relied on was refused; then carries the endings through their runs. Returns
 * the tasks refused (what this engine believed of them is wrong) and how many became ready.
 */
export async function writeReports(
  tx: TreeTx,
  batch: readonly Report[],
  /**
   * What the caller will send after, sent ahead behind the endings where that is worth it: told
   * the roots this transaction holds once the lock sent first is answered.
   */
  ahead?: (held: readonly string[]) => void,
): Promise<{ refused: Set<string>; readied: number }> {
  const refused = new Set<string>();
  if (batch.length === 0) return { refused, readied: 0 };
  // The roots' lock goes first; what follows is sent behind it without waiting for its answer
  // (on PostgreSQL, one round trip with the endings) and it is awaited before anything is numbered.
  const roots = batch.map((report) => subjectOf(report).root_id);
  const locked = tx.lock(roots);
  locked.catch(() => undefined);
  await tx.sync();
  // Steps first (a step is saved before its run goes on, so it never shares a batch with that
  // run's ending), then endings, each only if this engine still holds its task: the guarded
  // write says which held (one statement for the check and the write).
  const stepsHeld = await writeSteps(tx, batch);
  const endings = batch.filter((report) => report.kind === 'end');
  await checkSpawns(tx, endings);
  const ended = new Set(endings.map((report) => report.row.id));
  const endsWritten = endings.length
    ? updateTasks(
        tx.sql,
        tx.runner,
        endings.map((report) => ({ id: report.row.id, set: report.change })),
        { heldBy: tx.owner },
      )
    : Promise.resolve(new Set<string>());
  // Awaited below; until then a failure must not count as unhandled.
  endsWritten.catch(() => undefined);
  // A batch of tasks that completed (the common turn): what settling them will read next goes
  // behind their write, one round trip for all on PostgreSQL (a guess: read again if wrong).
  if (tx.sql.dialect === 'postgres' && endings.length && batch.every(plainCompletion)) {
    // The caller's first (a claim changes only ready tasks, none of which the probe asks about).
    ahead?.([...new Set([...tx.roots.keys(), ...roots])]);
    probeAhead(
      tx,
      endings.map((report) => report.row),
    );
  }
  await locked;
  const endHeld = await endsWritten;
  const progressOnly = batch.filter((report) => report.kind === 'progress' && !ended.has(report.subject.id));
  const held = progressOnly.length
    ? await heldBy(
        tx.sql,
        tx.runner,
        progressOnly.map((report) => subjectOf(report).id),
        tx.owner,
      )
    : new Set<string>();
  for (const id of endHeld) held.add(id);
  const settled: SettleBatch = new Map();
  const claimed = new Set<string>();
  for (const report of batch) {
    const id = subjectOf(report).id;
    if (report.kind === 'steps') {
      if (!stepsHeld.has(id)) refused.add(id);
    } else if (report.kind === 'follow-on') {
      const { row, gates } = report.followOn;
      if (gates.some((gate) => refused.has(gate)) || !(await claimFollowOn(tx.sql, tx.runner, row))) {
        refused.add(id);
        continue;
      }
      claimed.add(id);
      tx.event('task_start', row);
    } else if (!held.has(id)) {
      refused.add(id);
    } else if (report.kind === 'progress') {
      // A task that ended in this batch keeps its ending's progress; the event still tells.
      if (!ended.has(id)) tx.set(id, { progress: report.subject.progress, updated_at: tx.now });
      tx.event('progress', report.subject, report.message);
    } else {
      tx.event(report.type, report.row, report.message);
      if (report.settled) settledIn(settled, report.row.root_id).push({ id, status: report.row.status });
      if (report.spawned) await addSpawned(tx, report.row, report.spawned.rows, settled);
    }
  }
  return { refused, readied: settled.size ? (await settleRuns(tx, settled, claimed)).readied : 0 };
}

/** An ending that settles its task as completed and adds nothing to its tree. */
const plainCompletion = (report: Report) =>
  report.kind === 'end' && report.settled && report.row.status === 'completed' && !report.spawned;

/** Writes the steps reports of tasks this engine still holds; returns their ids. */
async function writeSteps(tx: TreeTx, batch: readonly Report[]): Promise<Set<string>> {
  // Each report holds the task's whole memory: the last one of a task is the one to write.
  const latest = new Map<string, TaskSteps>();
  for (const report of batch) if (report.kind === 'steps') latest.set(report.subject.id, report.steps);
  const changes = [...latest].map(([id, steps]) => ({ id, set: { steps } }));
  return changes.length ? updateTasks(tx.sql, tx.runner, changes, { heldBy: tx.owner }) : new Set<string>();
}
