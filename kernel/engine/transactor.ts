import type { TaskEvent } from '../hooks/hook-types.ts';
import type { Sql, SqlRunner } from '../storage/sql.ts';
import { traceTurn } from '../telemetry/spans.ts';
import type { EngineSignal, SignalBus } from './signal-bus.ts';
import { createTreeTx, type TreeTx } from './tree-tx.ts';
import type { ShapeCache } from './tree-shape.ts';

/**
 * Runs one engine transaction over trees (see {@link createTransactor}). With `atOnce`, `work`
 * only writes (new trees and their events; it reads nothing back), and what it writes goes as
 * one atomic write (`sql.writeAtOnce`: on PostgreSQL one statement, no BEGIN and COMMIT).
 */
export type Transact = <T>(work: (tx: TreeTx) => Promise<T>, options?: { atOnce?: boolean }) => Promise<T>;

/**
 * How the engine writes: `work` runs in one write transaction over trees; what it committed is
 * signalled to the other engines (with the transaction on PostgreSQL, after it through the
 * cluster relay) and only then announced here, so nothing is heard before it is stored. A commit
 * that left ready tasks unclaimed (a cancel readied a parent, a takeover) also calls `readied`:
 * this engine does not hear its own signals.
 */
export function createTransactor(options: {
  sql: Sql;
  owner: string;
  shapes: ShapeCache;
  signals: SignalBus;
  announce: (events: readonly TaskEvent[]) => void;
  readied: () => void;
}): Transact {
  const { sql, owner, shapes, signals } = options;
  return async (work, { atOnce = false } = {}) => {
    const attempt = async (runner: SqlRunner) => {
      const tx = createTreeTx({ sql, runner, owner, shapes, now: new Date().toISOString(), atOnce });
      const value = await work(tx);
      let signal: EngineSignal | null = null;
      const events = await tx.commit((written) => {
        signal = signalOf(owner, written, tx.notes);
        return signal && signals.inTransaction(signal);
      });
      return { value, events, signal: signal as EngineSignal | null };
    };
    const committed = await traceTurn(
      () => (atOnce ? sql.writeAtOnce(attempt) : sql.write(attempt)),
      (turn) => ({ 'apflow.db.events': turn.events.length, 'apflow.db.dialect': sql.dialect }),
    );
    if (committed.signal) signals.sendAfterCommit(committed.signal);
    options.announce(committed.events);
    if (committed.signal?.r) options.readied();
    return committed.value;
  };
}

/** What the others need to hear of a commit: trees whose log grew, ready tasks left, cancelled runs; null if nothing. */
function signalOf(owner: string, events: readonly TaskEvent[], notes: TreeTx['notes']): EngineSignal | null {
  const last = new Map<string, number>();
  for (const event of events) last.set(event.root_task_id, event.seq);
  if (last.size === 0 && !notes.wake && notes.cancelled.length === 0) return null;
  const signal: EngineSignal = { o: owner };
  if (last.size) signal.e = [...last];
  if (notes.wake) signal.r = 1;
  if (notes.cancelled.length) signal.c = notes.cancelled;
  return signal;
}
