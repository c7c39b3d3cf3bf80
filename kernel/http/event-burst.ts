import type { TaskEvent } from '../hooks/hook-types.ts';

/**
 * The events one connection got in this tick, written as one buffer when the tick ends. The
 * engine announces a commit's events in one synchronous loop, and every follower of a tree that
 * is in step gets the same events: their frames are joined once, and each socket gets one write
 * of the same bytes (no per-event chunks for the stream to queue and `writev` to gather).
 */
export function createEventBurst(frame: (event: TaskEvent) => Buffer, write: (bytes: Buffer) => void) {
  let pending: TaskEvent[] = [];
  let tail: Buffer | undefined;
  const flush = () => {
    if (pending.length === 0) return;
    const events = pending;
    const last = tail;
    pending = [];
    tail = undefined;
    write(events.length === 1 && !last ? frame(events[0] as TaskEvent) : joined(events, frame, last));
  };
  return {
    /**
     * Queues `event` for the end of the tick; `then` (the same buffer for every follower, e.g. a
     * stream's end) goes in the same write after it.
     */
    add(event: TaskEvent, then?: Buffer): void {
      // What follows a tail (another tree's event on the same connection) goes after it.
      if (tail) flush();
      if (pending.push(event) === 1) afterTick(flush);
      tail = then;
    },
    /** Writes what is queued now (before a message that must follow it). */
    flush,
  };
}

/** The last burst joined for each first event (and frame kind): followers in step share it. */
const bursts = new WeakMap<TaskEvent, { frame: unknown; events: TaskEvent[]; tail?: Buffer; bytes: Buffer }>();

function joined(events: TaskEvent[], frame: (event: TaskEvent) => Buffer, tail: Buffer | undefined): Buffer {
  const first = events[0] as TaskEvent;
  const known = bursts.get(first);
  if (known && known.frame === frame && known.tail === tail && sameEvents(known.events, events)) return known.bytes;
  const frames = events.map(frame);
  if (tail) frames.push(tail);
  const bytes = Buffer.concat(frames);
  bursts.set(first, { frame, events, tail, bytes });
  return bytes;
}

function sameEvents(a: TaskEvent[], b: TaskEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const due: (() => void)[] = [];

/** Runs `flush` when this tick ends: one `nextTick` for every connection's flush. */
function afterTick(flush: () => void): void {
  if (due.push(flush) === 1) process.nextTick(runDue);
}

function runDue(): void {
  let failed: { error: unknown } | undefined;
  // A flush may queue another (a stream cut off, a message answered): it runs in this loop.
  for (let i = 0; i < due.length; i++) {
    try {
      (due[i] as () => void)();
    } catch (error) {
      failed ??= { error };
    }
  }
  due.length = 0;
  if (failed) throw failed.error;
}
