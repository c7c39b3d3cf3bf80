// Shared pieces of the `peers` scenario: what a peer offers, time bounds, percentiles, services.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type pg from 'pg';

/** One system set up for one round (fresh database or key prefix); every figure is optional. */
export interface PeerSession {
  /**
   * One parent and `children` no-op children, submitted at once: ms from submit to the parent's end.
   * The scenario calls it (and `jobs`) twice: a warm-up of 500, then the measured size.
   */
  tree?(children: number): Promise<number>;
  /** `jobs` independent no-op jobs submitted at once: ms from submit until every one is completed. */
  jobs?(jobs: number): Promise<number>;
  /** Enqueue→start delays (ms) of `samples` jobs submitted one at a time, after a few warm-ups. */
  latency?(samples: number): Promise<number[]>;
  /**
   * What a commit survives, as the system's own server reports it when asked (`synchronous=full`,
   * `appendfsync=always`, `synchronous_commit=on`…): recorded beside each figure.
   */
  durability?(): Promise<string>;
  close(): Promise<void>;
}

/** A system the scenario compares: its figure-name prefix, a label and how to set it up. */
export interface Peer {
  key: string;
  label: string;
  /** Why it cannot run here (service down…), checked once; undefined when it can. */
  problem(): Promise<string | undefined>;
  setUp(): Promise<PeerSession>;
}

/** A log stream that drops everything (the peers' apps log nothing the scenario reads). */
export const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/** The concurrency every system gets: apflow's default `engine.concurrency`. */
export const CONCURRENCY = 64;

/** `work` or a rejection after `ms` (the work itself is left to its own close). */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it is true, for at most `ms`. */
export async function until(check: () => Promise<boolean>, what: string, ms = 60_000, everyMs = 5): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not done within ${ms} ms`);
    await sleep(everyMs);
  }
}

/** The q-quantile (nearest rank) of unsorted values, 2 decimals. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number) * 100) / 100;
}

/** Records start times of `mark` handlers: the latency loops of every peer share it. */
export function createMarks() {
  let pending: ((at: number) => void) | undefined;
  return {
    /** Called by a handler when it starts. */
    hit: () => pending?.(performance.now()),
    /** Runs `enqueue` and resolves with the ms from just before it to the handler's start. */
    async measure(enqueue: () => Promise<unknown>): Promise<number> {
      const started = new Promise<number>((resolve) => (pending = resolve));
      const before = performance.now();
      await enqueue();
      const at = await within(10_000, 'a latency sample', started);
      pending = undefined;
      return at - before;
    },
  };
}

/** `samples` delays from `measure`, after `warmups` more that are thrown away (every peer's latency loop). */
export async function sampleDelays(samples: number, measure: () => Promise<number>, warmups = 5): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < samples + warmups; i++) {
    const delay = await measure();
    if (i >= warmups) delays.push(delay);
  }
  return delays;
}

/** `synchronous_commit` of a PostgreSQL session, as the server reports it (the peers' durability). */
export async function postgresDurability(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
  return `synchronous_commit=${rows[0]?.synchronous_commit ?? 'unknown'}`;
}

/** The Redis to bench BullMQ on: BENCH_REDIS_URL, else APFLOW_TEST_REDIS_URL, else `scripts/redis.sh`'s. */
export const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.APFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:56379/0';

/** ioredis options for {@link redisUrl} (BullMQ wants `maxRetriesPerRequest: null`). */
export function redisOptions() {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    password: url.password || undefined,
    maxRetriesPerRequest: null,
  };
}

/** Why Redis cannot be used, or undefined. */
export async function redisProblem(): Promise<string | undefined> {
  const client = new Redis({
    ...redisOptions(),
    lazyConnect: true,
    connectTimeout: 2000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis not reachable at ${new URL(redisUrl).host} (${(error as Error).message}); start it with \`eval "$(bash scripts/redis.sh start)"\``;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix:` (a round's BullMQ queues). */
export async function flushPrefix(prefix: string): Promise<void> {
  const client = new Redis(redisOptions());
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
