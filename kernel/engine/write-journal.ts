import type { Logger } from '../internal/logger.ts';
import type { TaskChange } from '../storage/queries/task-columns.ts';
import type { TaskClaim } from '../storage/queries/update-tasks.ts';

/** What one flush writes, in one transaction. */
export interface JournalBatch {
  changes: TaskChange[];
  claims: TaskClaim[];
}

/**
 * Batches task writes: everything asked for while one transaction commits goes into the next
 * one. Callbacks (announcing events, starting claimed tasks) run only after their commit, so
 * every status change is persisted before anyone hears of it. A failed commit is retried with
 * backoff; nothing is dropped.
 */
export function createWriteJournal(options: {
  commit: (batch: JournalBatch) => Promise<Set<string>>;
  log: Logger;
}) {
  let changes = new Map<string, TaskChange>();
  let claims: { claim: TaskClaim; done: (granted: boolean) => void }[] = [];
  let after: (() => void)[] = [];
  let running: Promise<void> | null = null;
  let failures = 0;

  const flush = async (): Promise<void> => {
    while (changes.size > 0 || claims.length > 0 || after.length > 0) {
      const batch = { changes: [...changes.values()], claims: claims.map((entry) => entry.claim) };
      const claimDone = claims;
      const callbacks = after;
      changes = new Map();
      claims = [];
      after = [];
      let granted: Set<string>;
      try {
        granted = batch.changes.length || batch.claims.length ? await options.commit(batch) : new Set();
        failures = 0;
      } catch (error) {
        failures++;
        options.log.error({ err: error, attempt: failures }, 'task write failed; retrying');
        // Put the batch back in front of whatever arrived meanwhile, and wait before retrying.
        const newer = changes;
        changes = new Map(batch.changes.map((change) => [change.id, change]));
        for (const change of newer.values()) merge(changes, change);
        claims = [...claimDone, ...claims];
        after = [...callbacks, ...after];
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 * 2 ** failures)));
        continue;
      }
      for (const entry of claimDone) entry.done(granted.has(entry.claim.id));
      for (const callback of callbacks) callback();
    }
  };
  const schedule = () => {
    running ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .finally(() => {
        running = null;
        if (changes.size > 0 || claims.length > 0 || after.length > 0) schedule();
      });
  };

  return {
    /** Sets columns of a task (merged with other pending changes to it). */
    change(change: TaskChange): void {
      merge(changes, change);
      schedule();
    },
    /** Claims a pending task; `done` hears whether this server got it, after the commit. */
    claim(claim: TaskClaim, done: (granted: boolean) => void): void {
      claims.push({ claim, done });
      schedule();
    },
    /** Runs `callback` once everything asked for so far is committed. */
    afterCommit(callback: () => void): void {
      after.push(callback);
      schedule();
    },
    /** Resolves when nothing is waiting to be written. */
    async drain(): Promise<void> {
      while (running) await running;
    },
  };
}

/** A write journal. */
export type WriteJournal = ReturnType<typeof createWriteJournal>;

function merge(into: Map<string, TaskChange>, change: TaskChange): void {
  const current = into.get(change.id);
  into.set(change.id, current ? { id: change.id, set: { ...current.set, ...change.set } } : { id: change.id, set: { ...change.set } });
}
