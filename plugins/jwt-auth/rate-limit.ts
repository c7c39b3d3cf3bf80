/**
 * Counts attempts per key in a sliding window: `hit(key)` records one and tells how many seconds
 * to wait when the key is over `max` within `windowS` (0 when it may go on).
 */
export function createRateLimit(max: number, windowS: number) {
  const attempts = new Map<string, number[]>();
  const windowMs = windowS * 1000;
  return {
    hit(key: string, now = Date.now()): number {
      const recent = (attempts.get(key) ?? []).filter((at) => now - at < windowMs);
      recent.push(now);
      attempts.set(key, recent);
      if (attempts.size > 100_000) for (const [stale, times] of attempts) if (times.every((at) => now - at >= windowMs)) attempts.delete(stale);
      return recent.length > max ? Math.ceil(((recent[recent.length - max - 1] as number) + windowMs - now) / 1000) : 0;
    },
  };
}
