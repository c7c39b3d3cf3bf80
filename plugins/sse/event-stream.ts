import type { ServerResponse } from 'node:http';
import { createEventBurst, eventJson, type TaskEvent } from 'apflow';

/** Settings of one stream. */
export interface EventStreamOptions {
  /** Seconds between keep-alive comments. */
  keepAliveS: number;
  /** Bytes the socket may hold unsent before the stream is closed (the client can resume). */
  maxBufferedBytes: number;
  /** Called when the stream is cut off for not reading (the events it did not get are dropped). */
  onOverflow?: () => void;
}

const frames = new WeakMap<TaskEvent, Buffer>();

/** The SSE frame of `event` (`id:` its seq), encoded once for every stream that sends it. */
function eventFrame(event: TaskEvent): Buffer {
  let frame = frames.get(event);
  if (!frame) {
    frame = Buffer.from(`id: ${event.seq}\ndata: ${eventJson(event)}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}

/**
 * One Server-Sent Events response: `id:` + `data:` frames, keep-alive comments, and a close
 * with a reason when the client does not read fast enough, so a slow client never holds the
 * engine or other clients back.
 */
export function createEventStream(res: ServerResponse, options: EventStreamOptions) {
  let ended = false;
  const keepAlive = setInterval(() => write(': keepalive\n\n'), options.keepAliveS * 1000);
  keepAlive.unref();
  const onClose = new Set<() => void>();
  res.once('close', () => finish(false));
  // A tick's events go out in one write, one chunk of the response: the same bytes for every
  // stream in step.
  const events = createEventBurst(eventFrame, writeNow);

  /** Writes `text` after the events queued before it. */
  function write(text: string): void {
    events.flush();
    writeNow(text);
  }
  function writeNow(text: string | Buffer): void {
    if (ended) return;
    res.write(text);
    if (res.writableLength > options.maxBufferedBytes) {
      options.onOverflow?.();
      res.write(
        `event: overflow\ndata: ${JSON.stringify({ type: 'overflow', message: 'the client is not reading fast enough; reconnect with Last-Event-ID' })}\n\n`,
      );
      finish();
    }
  }
  /** Ends the response, after the events queued unless the client is gone. */
  function finish(flush = true): void {
    if (ended) return;
    if (flush) events.flush();
    // Writing them may have cut the stream off already.
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    res.end();
    for (const listener of onClose) listener();
  }

  return {
    /** Sends one task event (its `seq` is the frame id). */
    event(event: TaskEvent): void {
      if (!ended) events.add(event);
    },
    /** Sends a frame without an id (envelopes, `stream_end`). */
    data(value: unknown): void {
      write(`data: ${JSON.stringify(value)}\n\n`);
    },
    /** Ends the response (what is queued is sent first). */
    end: () => finish(),
    /** Runs `listener` once the stream ends, whoever ended it. */
    onClose(listener: () => void): void {
      if (ended) listener();
      else onClose.add(listener);
    },
    get ended(): boolean {
      return ended;
    },
  };
}

/** An open event stream. */
export type EventStream = ReturnType<typeof createEventStream>;
