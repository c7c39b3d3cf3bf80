import type { TaskCounts, TaskEvent, TaskEventType } from '../hooks/hook-types.ts';
import { collectingRunner } from '../storage/one-statement.ts';
import type { Sql, SqlRunner, Statement } from '../storage/sql.ts';
import { lockRoots, lockRootsOf, selectPlaces, type RootLock } from '../storage/queries/run-queries.ts';
import { insertEvents } from '../storage/queries/task-events.ts';
import { updateTasks } from '../storage/queries/update-tasks.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { eventJson, makeEvent, type EventSubject } from './task-events.ts';
import type { SqlNotice } from './signal-bus.ts';
import type { ShapeCache, TreeShape } from './tree-shape.ts';

/** A statement that only reads. */
const READ = /^\s*select\b/i;

/** What one engine transaction needs. */
export interface TreeTxContext {
  sql: Sql;
  runner: SqlRunner;
  /** This engine's lease owner id. */
  owner: string;
  shapes: ShapeCache;
  /** The transaction's clock (ISO). */
  now: string;
  /**
   * Its writes go as one (`sql.writeAtOnce`): nothing is read, and no stored row is changed (on
   * PostgreSQL one statement's parts do not see each other's rows).
   */
  atOnce?: boolean;
}

/**
 * One transaction over task trees: the roots it locks (every change to a tree happens under its
 * root's row lock, so engines on other servers change a tree one at a time and number its events
 * without gaps or duplicates), the task changes it batches, and the events it appends. Changes
 * are written before anything is read again ({@link TreeTx.sync}), so reads see them.
 */
export function createTreeTx(ctx: TreeTxContext) {
  const { sql } = ctx;
  /** Statements sent that may write (any but a SELECT): a read sent before one may be stale. */
  let writesSent = 0;
  const runner: SqlRunner = {
    select<T>(text: string, params?: unknown[]) {
      if (!READ.test(text)) writesSent++;
      return ctx.runner.select<T>(text, params);
    },
    run(text: string, params?: unknown[]) {
      writesSent++;
      return ctx.runner.run(text, params);
    },
  };
  const ahead = new Map<string, { writesSent: number; answer: Promise<unknown> }>();
  const written = new Map<string, Promise<unknown>>();
  /** Roots whose lock was sent and not answered yet. */
  const locking = new Map<string, Promise<void>>();
  const roots = new Map<string, RootLock>();
  /** Each root's `event_seq` as stored when this transaction took it: an unchanged one is not written again. */
  const storedSeqs = new Map<string, number>();
  const hold = (root: RootLock) => {
    if (roots.has(root.id)) return;
    roots.set(root.id, root);
    storedSeqs.set(root.id, root.event_seq);
  };
  let changes = new Map<string, Partial<TaskRow>>();
  /** The changes made since the last write, as a batch; forgotten here. */
  const takeChanges = () => {
    const batch = [...changes].map(([id, set]) => ({ id, set }));
    changes = new Map();
    return batch;
  };
  const events: TaskEvent[] = [];
  /** What other engines should hear when this commits: ready tasks left unclaimed, running tasks cancelled. */
  const notes = { wake: false, cancelled: [] as string[] };

  return {
    ...ctx,
    runner,
    roots,
    notes,
    /**
     * Sends a read now, ahead of the code that needs it (on a pipelined connection it goes behind
     * the statements sent before, in the same round trip): see {@link takeAhead}.
     */
    readAhead(key: string, read: (runner: SqlRunner) => Promise<unknown>): void {
      const answer = read(runner);
      // Taken later or dropped: a failure shows in the statements that follow (PostgreSQL
      // refuses the rest of the transaction), never as an unhandled rejection.
      answer.catch(() => undefined);
      ahead.set(key, { writesSent, answer });
    },
    /**
     * The answer of the read sent ahead under `key` (once), if nothing that may write was sent
     * since: then it is what the same read sent now would answer. Else undefined: read again.
     */
    takeAhead<T>(key: string): Promise<T> | undefined {
      const sent = ahead.get(key);
      ahead.delete(key);
      return sent && sent.writesSent === writesSent ? (sent.answer as Promise<T>) : undefined;
    },
    /**
     * Sends a write now, ahead of the code that completes it (in the same round trip as the
     * statements sent before): that code must take it ({@link takeWrittenAhead}), whatever was
     * sent since: what it wrote is written.
     */
    writeAhead(key: string, write: (runner: SqlRunner) => Promise<unknown>): void {
      const answer = write(runner);
      answer.catch(() => undefined);
      written.set(key, answer);
    },
    /** The answer of the write sent ahead under `key` (once), if one was. */
    takeWrittenAhead<T>(key: string): Promise<T> | undefined {
      const answer = written.get(key);
      written.delete(key);
      return answer as Promise<T> | undefined;
    },
    /**
     * Locks the roots of these trees (those not held yet); with `skipLocked`, roots another
     * transaction holds are left out. Returns the ids held now.
     */
    async lock(rootIds: Iterable<string>, skipLocked = false): Promise<Set<string>> {
      const ids = [...new Set(rootIds)];
      const wanted = ids.filter((id) => !roots.has(id) && !locking.has(id));
      if (wanted.length) {
        // Sent now; a lock of the same roots asked for before its answer waits for this one.
        const sent = lockRoots(sql, runner, wanted, skipLocked).then((found) => found.forEach(hold));
        for (const id of wanted) locking.set(id, sent);
        void sent.then(
          () => wanted.forEach((id) => locking.delete(id)),
          () => wanted.forEach((id) => locking.delete(id)),
        );
      }
      await Promise.all(ids.map((id) => locking.get(id)));
      return new Set(ids.filter((id) => roots.has(id)));
    },
    /**
     * Locks the roots of the trees of these tasks (those not held yet) and returns each found
     * task's root id: one statement for a run's start.
     */
    async lockTreesOf(taskIds: readonly string[]): Promise<Map<string, string>> {
      const found = await lockRootsOf(sql, runner, taskIds);
      for (const root of found.roots) hold(root);
      return found.rootOf;
    },
    /**
     * Holds the root of a tree this transaction inserts (nobody else sees it before the commit),
     * stored with `event_seq` = `storedSeq`: when its events end there, the counter is not written again.
     */
    holdNew(root: RootLock, storedSeq: number): void {
      roots.set(root.id, root);
      storedSeqs.set(root.id, storedSeq);
    },
    /** Sets columns of a task (merged with this transaction's other changes to it). */
    set(id: string, change: Partial<TaskRow>): void {
      if (ctx.atOnce) throw new Error(`internal: a change to task ${id} in a write made at once`);
      const current = changes.get(id);
      if (current) Object.assign(current, change);
      else changes.set(id, { ...change });
    },
    /** Writes the changes made so far. */
    async sync(): Promise<void> {
      if (changes.size) await updateTasks(sql, runner, takeChanges());
    },
    /** Appends an event of `task`'s tree (whose root must be locked), numbered next. */
    event(type: TaskEventType, task: EventSubject, message?: string, counts?: TaskCounts): TaskEvent {
      const root = roots.get(task.root_id);
      if (!root) throw new Error(`internal: event of tree ${task.root_id} without its root locked`);
      const event = makeEvent(type, task, ++root.event_seq, { message, counts });
      events.push(event);
      return event;
    },
    /** The shape of the tree's active run, or null when it has none. */
    async runShape(rootId: string): Promise<{ shape: TreeShape; runId: string } | null> {
      const root = roots.get(rootId);
      if (!root?.run_id || root.run_state !== 'running') return null;
      const runId = root.run_id;
      return { shape: await ctx.shapes.get(rootId, runId, root.shape_rev, () => selectPlaces(runner, rootId)), runId };
    },
    /** Notes that tasks were added to the tree's run (a spawn): every engine reads its shape again. */
    shapeChanged(rootId: string): void {
      const root = roots.get(rootId);
      if (!root) throw new Error(`internal: shape of tree ${rootId} changed without its root locked`);
      root.shape_rev += 1;
      this.set(rootId, { shape_rev: root.shape_rev });
    },
    /**
     * Writes everything (task changes, event counters, events); returns the events, in order.
     * `notice` gives what the others should hear of them (see signal-bus.ts). The last changes,
     * the events and the notice touch different rows and read none: on PostgreSQL they are one
     * statement (`sql.together`), one round trip for all.
     */
    async commit(notice?: (events: readonly TaskEvent[]) => SqlNotice | null): Promise<TaskEvent[]> {
      for (const event of events) {
        const root = roots.get(event.root_task_id) as RootLock;
        if (root.event_seq !== storedSeqs.get(root.id)) this.set(root.id, { event_seq: root.event_seq });
      }
      // Written at once, the runner already collects the turn's writes into one: these join them.
      const writes: Statement[] = [];
      const collect = ctx.atOnce ? runner : collectingRunner(writes);
      await updateTasks(sql, collect, takeChanges());
      await insertEvents(sql, collect, events, eventJson, notice?.(events));
      await sql.together(runner, writes);
      return events;
    },
  };
}

/** An engine transaction over task trees. */
export type TreeTx = ReturnType<typeof createTreeTx>;
