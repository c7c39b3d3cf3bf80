/** How a {@link createRateLimit} counts. */
export interface RateLimitOptions {
  /** Attempts a key may make within the window. */
  max: number;
  windowS: number;
  /** Keys held at most; past it the least recently hit are forgotten first (default 10,000). */
  maxKeys?: number;
}

/** Attempts per key in a sliding window, in bounded memory. */
export interface RateLimit {
  /**
   * Records one attempt for `key` at `now` and tells how many seconds to wait when the key is
   * over `max` within the window (0 when it may go on). Refused attempts count too.
   */
  hit(key: string, now?: number): number;
  /** Takes back the attempt recorded at `at` (a success that should not count). */
  forget(key: string, at: number): void;
  /** Forgets every attempt of `key`. */
  reset(key: string): void;
  /** Keys held now (those whose window has passed are dropped first). */
  readonly size: number;
}

/**
 * A sliding-window counter whose memory is bounded whatever the callers send: at most `maxKeys`
 * keys (least recently hit evicted first), each holding at most `max + 1` times, and keys whose
 * last attempt left the window dropped as later hits come (no timer to clear).
 */
export function createRateLimit({ max, windowS, maxKeys = 10_000 }: RateLimitOptions): RateLimit {
  // A Map keeps insertion order; re-inserting on every hit makes it least-recently-hit first, so
  // the keys whose window has passed, and the ones to evict, are always at the front.
  const attempts = new Map<string, number[]>();
  const windowMs = windowS * 1000;
  const prune = (now: number) => {
    for (const [key, times] of attempts) {
      const last = times[times.length - 1];
      if (attempts.size <= maxKeys && last !== undefined && now - last < windowMs) break;
      attempts.delete(key);
    }
  };
  return {
    hit(key, now = Date.now()) {
      const times = (attempts.get(key) ?? []).filter((at) => now - at < windowMs);
      times.push(now);
      if (times.length > max + 1) times.splice(0, times.length - max - 1);
      attempts.delete(key);
      attempts.set(key, times);
      prune(now);
      const [first = now] = times; // never empty: `now` was just added
      return times.length > max ? Math.max(1, Math.ceil((first + windowMs - now) / 1000)) : 0;
    },
    forget(key, at) {
      const times = attempts.get(key);
      const index = times?.lastIndexOf(at) ?? -1;
      if (!times || index < 0) return;
      times.splice(index, 1);
      if (times.length === 0) attempts.delete(key);
    },
    reset(key) {
      attempts.delete(key);
    },
    get size() {
      prune(Date.now());
      return attempts.size;
    },
  };
}
