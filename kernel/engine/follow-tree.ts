import type { TaskEvent } from '../hooks/hook-types.ts';

/**
 * What a tree's live listeners hear: an event this process persisted, the events of one commit
 * (in seq order), or the news (a number) that the tree's event log grew to that seq elsewhere
 * (another server, another worker).
 */
export type TreeNews = TaskEvent | readonly TaskEvent[] | number;

/** Where {@link followTree} reads events from. */
export interface EventSource {
  /** Hears the live news of one tree, after it was persisted. */
  subscribe(rootId: string, listener: (news: TreeNews) => void): () => void;
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
 * Follows one tree: its persisted events with a seq above `after` (unless `replay` is false:
 * the caller knows there are none), then its live events, each
 * once and in seq order, with no gap. Listening starts before the log is read, so nothing falls
 * between the two. A live event that does not follow the last one delivered (events of the same
 * tree were written by another server meanwhile), or news that the log grew elsewhere, makes it
 * read the log from where it is; events heard meanwhile wait and duplicates are dropped. Streams
 * (SSE, WebSocket, webhooks, A2A) resume from a client's last seq with this.
 */
export function followTree(
  source: EventSource,
  rootId: string,
  after: number,
  onEvent: (event: TaskEvent) => void,
  options: { replay?: boolean } = {},
): Following {
  let sent = after;
  let stopped = false;
  let reading: Promise<void> | null = null;
  let readAgain = false;
  const waiting: TaskEvent[] = [];
  // From the log, a gap is final (pruned events); live, it means the log has more to read.
  const deliver = (event: TaskEvent, fromLog = false) => {
    if (stopped || event.seq <= sent || (!fromLog && event.seq !== sent + 1)) return;
    sent = event.seq;
    onEvent(event);
  };
  const drainWaiting = () => {
    waiting.sort((a, b) => a.seq - b.seq);
    while (waiting.length && (waiting[0] as TaskEvent).seq <= sent + 1) deliver(waiting.shift() as TaskEvent);
    if (waiting.length) readAgain = true;
  };
  const read = (): Promise<void> => {
    readAgain = true;
    reading ??= (async () => {
      try {
        while (readAgain && !stopped) {
          readAgain = false;
          for (;;) {
            const page = await source.events(rootId, sent, PAGE);
            for (const event of page) deliver(event, true);
            if (page.length < PAGE || stopped) break;
          }
          drainWaiting();
        }
      } finally {
        reading = null;
      }
    })();
    return reading;
  };
  const hear = (event: TaskEvent) => {
    if (reading || event.seq !== sent + 1) {
      if (event.seq > sent) waiting.push(event);
      if (!reading) void read().catch(() => undefined);
      return;
    }
    deliver(event);
  };
  const unsubscribe = source.subscribe(rootId, (news) => {
    if (stopped) return;
    if (typeof news === 'number') {
      if (news > sent) void read().catch(() => undefined);
    } else if ('seq' in news) hear(news);
    else for (const event of news) hear(event);
  });
  // Without replay the caller knows `after` is the log's last seq right now (nothing to read).
  const replayed = options.replay === false ? Promise.resolve() : read();
  return {
    stop() {
      stopped = true;
      unsubscribe();
    },
    replayed,
  };
}
