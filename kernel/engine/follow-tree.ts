import type { TaskEvent } from '../hooks/hook-types.ts';

/** Where {@link followTree} reads events from. */
export interface EventSource {
  /** Hears the live events of one tree, after they were persisted. */
  subscribe(rootId: string, listener: (event: TaskEvent) => void): () => void;
  /** The tree's persisted events with a seq above `afterSeq`, oldest first, at most `limit`. */
  events(rootId: string, afterSeq: number, limit: number): Promise<TaskEvent[]>;
}

/** A {@link followTree} in progress. */
export interface Following {
  /** Stops hearing events (no more calls of `onEvent`). */
  stop(): void;
  /** Resolves once the event log was replayed (live events follow); rejects if it could not be read. */
  readonly replayed: Promise<void>;
}

const PAGE = 5_000;

/**
 * Follows one tree: its persisted events with a seq above `after`, then its live events, each
 * once and in seq order. Listening starts before the log is read, so no event falls between
 * the two; live events that arrive during the replay wait for it and duplicates are dropped.
 * Streams (SSE, WebSocket, webhooks) resume from a client's last seq with this.
 */
export function followTree(source: EventSource, rootId: string, after: number, onEvent: (event: TaskEvent) => void): Following {
  let sent = after;
  let stopped = false;
  let replaying = true;
  const waiting: TaskEvent[] = [];
  const deliver = (event: TaskEvent) => {
    if (stopped || event.seq <= sent) return;
    sent = event.seq;
    onEvent(event);
  };
  const unsubscribe = source.subscribe(rootId, (event) => (replaying ? waiting.push(event) : deliver(event)));
  const replayed = (async () => {
    try {
      for (;;) {
        const page = await source.events(rootId, sent, PAGE);
        for (const event of page) deliver(event);
        if (page.length < PAGE || stopped) break;
      }
    } finally {
      replaying = false;
      for (const event of waiting.sort((a, b) => a.seq - b.seq)) deliver(event);
      waiting.length = 0;
    }
  })();
  return {
    stop() {
      stopped = true;
      unsubscribe();
    },
    replayed,
  };
}
