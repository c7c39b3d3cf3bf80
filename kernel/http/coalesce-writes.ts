import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

/**
 * Holds what is written to `stream` for the rest of this tick and sends it in one system call
 * when the tick ends. The engine announces a commit's events in one synchronous loop, so a
 * stream subscriber writes a burst of N events with one `writev` instead of N writes; on a
 * thousand sockets that is most of the cost of fanning events out.
 */
export function coalesceWrites(stream: Writable): void {
  if (corked.has(stream) || stream.destroyed) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork();
  });
}
