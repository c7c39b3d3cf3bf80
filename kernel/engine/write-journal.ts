import type { TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { TaskChange } from '../storage/queries/task-columns.ts';

/** What one flush writes, in one transaction. */
export interface JournalBatch {
  /** The newest wanted columns of each task changed since the last flush. */
  changes: TaskChange[];
  /** Tasks claimed since the last flush: their changes apply only if nobody else settled them. */
  guarded: string[];
  /** Events to append to the event log, in order. */
  events: TaskEvent[];
}

/**
 * Batches task writes (group commit): everything asked for while one transaction commits goes
 * into the next one, merged per task. Callbacks (announcing events) run only after their
 * commit, so every status change is persisted before anyone hears of it. A failed commit is
 * retried with backoff; nothing is dropped.
 */
export function createWriteJournal(options: {
  /** Writes a batch; returns the guarded ids whose changes were refused, with the reason stored. */
  commit: (batch: JournalBatch) => Promise<Map<string, string | null>>;
  log: Logger;
}) {
  let changes = new Map<string, TaskChange>();
  let guards = new Map<string, Refusal[]>();
  let after: (() => void)[] = [];
  let events: TaskEvent[] = [];
  let running: Promise<void> | null = null;
  let failures = 0;
  const pending = () => changes.size > 0 || guards.size > 0 || after.length > 0 || events.length > 0;

  const flush = async (): Promise<void> => {
    while (pending()) {
      const batch: JournalBatch = { changes: [...changes.values()], guarded: [...guards.keys()], events };
      const guardDone = guards;
      const callbacks = after;
      changes = new Map();
      guards = new Map();
      after = [];
      events = [];
      let refused: Map<string, string | null>;
      try {
        refused = batch.changes.length || batch.events.length ? await options.commit(batch) : new Map();
        failures = 0;
      } catch (error) {
        failures++;
        options.log.error({ err: error, attempt: failures }, 'task write failed; retrying');
        // Put the batch back in front of whatever arrived meanwhile, and wait before retrying.
        const newer = changes;
        changes = new Map(batch.changes.map((change) => [change.id, change]));
        for (const change of newer.values()) merge(changes, change);
        for (const [id, list] of guards) guardDone.set(id, [...(guardDone.get(id) ?? []), ...list]);
        guards = guardDone;
        after = [...callbacks, ...after];
        events = [...batch.events, ...events];
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 * 2 ** failures)));
        continue;
      }
      for (const [id, list] of refused) for (const onRefused of guardDone.get(id) ?? []) onRefused(list);
      for (const callback of callbacks) callback();
    }
  };
  const schedule = () => {
    running ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .finally(() => {
        running = null;
        if (pending()) schedule();
      });
  };

  return {
    /** Sets columns of a task (merged with other pending changes to it). */
    change(change: TaskChange): void {
      merge(changes, change);
      schedule();
    },
    /**
     * Claims a task with `change`. If another process cancelled the task before this commit,
     * the batch's changes to it are dropped and `onRefused` hears the stored reason.
     */
    claim(change: TaskChange, onRefused: Refusal): void {
      merge(changes, change);
      guards.set(change.id, [...(guards.get(change.id) ?? []), onRefused]);
      schedule();
    },
    /** Appends `event` to the event log with the next commit, then runs `announce`. */
    event(event: TaskEvent, announce: () => void): void {
      events.push(event);
      after.push(announce);
      schedule();
    },
    /** Runs `callback` once everything asked for so far is committed. */
    afterCommit(callback: () => void): void {
      after.push(callback);
      schedule();
    },
    /** How many tasks have changes waiting for the next transaction. */
    backlog: (): number => changes.size,
    /** Resolves when nothing is waiting to be written. */
    async drain(): Promise<void> {
      while (running) await running;
    },
  };
}

/** Hears that a claim was refused: the task was cancelled elsewhere, with this message. */
type Refusal = (error: string | null) => void;

/** A write journal. */
export type WriteJournal = ReturnType<typeof createWriteJournal>;

function merge(into: Map<string, TaskChange>, change: TaskChange): void {
  const current = into.get(change.id);
  // The journal owns its copies, so merging in place is safe (and spares one object per write).
  if (current) Object.assign(current.set, change.set);
  else into.set(change.id, { id: change.id, set: { ...change.set } });
}
