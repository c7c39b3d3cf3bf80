/** The tasks-api fuzz test's request shape, seeded PRNG and body limit. */

/** One HTTP request to send. */
export interface FuzzCase {
  label: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Content type to send; null sends none. */
  contentType?: string | null;
  body?: string;
  /** What the answer must be. */
  expect?: { status?: number; code?: number; accepted?: boolean };
}

/** A seeded PRNG (mulberry32) with the helpers the generators need. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => next() < p;
  const word = (length = 8) => Array.from({ length }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789'])).join('');
  return { next, int, pick, chance, word };
}

/** The PRNG type. */
export type Random = ReturnType<typeof createRandom>;

/** The limit the fuzz app runs with (server.body_limit). */
export const BODY_LIMIT = 3 * 1024 * 1024;
