import { randomUUID } from 'node:crypto';
import { ApflowError, isApflowError } from '../errors/apflow-error.ts';
import { errorCatalogue, type ErrorCode } from '../errors/error-catalogue.ts';
import type { Logger } from '../internal/logger.ts';
import type { Sql } from '../storage/sql.ts';
import { fingerprint } from './fingerprint.ts';
import { createKeyStore, type KeyId } from './key-store.ts';

/** How long a key holds its first answer: a request with it after that is a new request. */
export const KEY_LIFETIME_MS = 24 * 60 * 60_000;
/** The longest idempotency key taken. */
export const MAX_KEY_LENGTH = 255;
/** A pending key's hold: renewed every third of it while its request works; a lapsed hold may be taken over. */
const HOLD_MS = 30_000;
/** How long a request waits for another one with its key to answer before it gives up. */
const WAIT_MS = 30_000;
/** Expired keys are deleted at most this often, by a request that inserts one. */
const PRUNE_EVERY_MS = 5 * 60_000;

/** One request that may be a retry: whose key, which key, and what it asks. */
export interface IdempotentCall {
  /** The caller's key: 1 to 255 characters. */
  key: string;
  /** Whose key it is (the principal's user id); null for anonymous callers, who share one scope. */
  userId: string | null;
  /** What is called: part of the fingerprint, and named by a conflict. */
  method: string;
  /** The params without the key itself: their canonical JSON, hashed, tells a retry from another request. */
  params: unknown;
}

/**
 * Requests that run once per idempotency key: the first request with a key of a caller does the
 * work; a retry within 24 hours gets the same answer, and a different request with the key an
 * `APF_CONFLICT`. The database decides which request of several (on any server) does the work.
 */
export interface Idempotency {
  /**
   * Runs `work` once for `call.key` of `call.userId`, or answers what the first request with the
   * key answered (its value, or the caller's error it met: an ApflowError other than a server
   * fault, thrown again). A request that arrives while the first one works waits for its answer
   * (up to 30 s, then `APF_CONFLICT`); a first request that failed inside leaves the key unused.
   * `work`'s value must be JSON, and fit to store: the wire answer, without secrets.
   */
  once<T>(
    call: IdempotentCall,
    work: (checkpoint: Checkpoint) => Promise<T>,
    resume?: (checkpoint: unknown) => Promise<T>,
  ): Promise<T>;
  /** Checks a key a request gave (`source` names where, for the message): a string of 1 to 255 characters. */
  checkKey(key: unknown, source: string): string;
}

/**
 * Records what a request has started (JSON, e.g. the run it began), so that once its holder is
 * gone (a crash, a restart, a fault after the work began) a retry goes on from there with
 * `resume` instead of starting the work again.
 */
export type Checkpoint = (value: unknown) => Promise<void>;

const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(errorCatalogue, code);
const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the caller caused `error` (so a retry would meet it again): stored and answered again. */
function callersError(error: unknown): error is ApflowError {
  // Limits that lift by themselves (a rate, a daily budget) are not the request's answer to keep.
  if (!isApflowError(error) || error.code === 'APF_RATE_LIMITED' || error.code === 'APF_QUOTA_EXCEEDED') return false;
  const status = errorCatalogue[error.code].status;
  return status >= 400 && status < 500;
}

/** Checks an idempotency key; throws `APF_INVALID_PARAMS` naming `source` otherwise. */
export function checkKey(key: unknown, source: string): string {
  if (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH) return key;
  const got = typeof key === 'string' ? (key ? `${key.length} characters` : 'an empty string') : typeof key;
  throw new ApflowError('APF_INVALID_PARAMS', {
    message: `Invalid params: ${source} must be a string of 1 to ${MAX_KEY_LENGTH} characters (got ${got})`,
  });
}

/** Builds the idempotency service of one server on its database. */
export function createIdempotency(options: { sql: Sql; log: Logger }): Idempotency {
  const store = createKeyStore(options.sql);
  const log = options.log;
  // Requests of this process waiting for a key a request of this process holds: woken when it settles.
  const waiting = new Map<string, Set<() => void>>();
  const wake = (id: KeyId) => {
    const name = `${id.scope}\n${id.key}`;
    for (const resolve of waiting.get(name) ?? []) resolve();
    waiting.delete(name);
  };
  const pause = (id: KeyId, ms: number) =>
    new Promise<void>((resolve) => {
      const name = `${id.scope}\n${id.key}`;
      const set = waiting.get(name) ?? new Set();
      waiting.set(name, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && waiting.get(name) === set) waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  let prunedAt = 0;
  const prune = (now: number) => {
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    void store
      .prune(iso(now - KEY_LIFETIME_MS), iso(now))
      .catch((err: unknown) => log.warn({ err }, 'could not prune expired idempotency keys'));
  };

  /** Does the work while holding the key's row, and stores how it ended. */
  async function hold<T>(
    id: KeyId,
    holder: string,
    work: (checkpoint: Checkpoint) => Promise<T>,
    begun = false,
  ): Promise<T> {
    const renewal = setInterval(() => {
      store
        .renew(id, holder, iso(Date.now() + HOLD_MS))
        .catch((err: unknown) => log.warn({ err }, 'could not renew the hold of an idempotency key'));
    }, HOLD_MS / 3);
    renewal.unref();
    const settle = async (state: 'done' | 'error', answer: unknown) => {
      // The caller gets its answer even when storing it fails; a retry may then do the work again.
      const stored = await store.settle(id, holder, state, JSON.stringify(answer)).catch((err: unknown) => {
        log.error({ err }, 'could not store the answer of an idempotency key');
        return undefined;
      });
      if (stored === false) log.warn('an idempotency key was taken over while its request worked (its hold lapsed)');
    };
    let started = begun;
    const checkpoint: Checkpoint = async (value) => {
      started = (await store.checkpoint(id, holder, JSON.stringify(value ?? null))) || started;
    };
    try {
      const value = await work(checkpoint);
      await settle('done', value ?? null);
      return value;
    } catch (error) {
      if (callersError(error)) await settle('error', error.toJSON());
      // Work that began is never begun again: the next retry goes on from the checkpoint.
      else if (started)
        await store.lapse(id, holder, iso(0)).catch((err: unknown) => log.error({ err }, 'could not let go of a key'));
      else await store.release(id, holder).catch((err: unknown) => log.error({ err }, 'could not release a key'));
      throw error;
    } finally {
      clearInterval(renewal);
      wake(id);
    }
  }

  async function once<T>(
    call: IdempotentCall,
    work: (checkpoint: Checkpoint) => Promise<T>,
    resume?: (checkpoint: unknown) => Promise<T>,
  ): Promise<T> {
    const key = checkKey(call.key, 'the idempotency key');
    const id: KeyId = { scope: call.userId === null ? 'anonymous' : `user:${call.userId}`, key };
    const print = fingerprint(call.method, call.params);
    const deadline = Date.now() + WAIT_MS;
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      const now = Date.now();
      const holder = randomUUID();
      const until = iso(now + HOLD_MS);
      if (await store.insert(id, { method: call.method, fingerprint: print, holder, until, now: iso(now) })) {
        prune(now);
        return hold(id, holder, work);
      }
      const expiry = iso(now - KEY_LIFETIME_MS);
      const row = await store.read(id, iso(now), expiry);
      // Gone meanwhile (its request failed inside) or expired: the key is free again.
      if (!row) continue;
      if (row.expired) {
        await store.dropExpired(id, expiry, iso(now));
        continue;
      }
      if (row.fingerprint !== print) {
        const what =
          row.method === call.method ? `${call.method} with other params` : `first ${row.method}, now ${call.method}`;
        throw new ApflowError('APF_CONFLICT', {
          message: `idempotency key '${key}' was used with a different request (${what}): send a new key for a new request`,
          data: { idempotency_key: key, reason: 'different_request' },
        });
      }
      // Our own stored JSON: the answer the first request with this key gave.
      if (row.state === 'done') return JSON.parse(row.answer ?? 'null') as T;
      if (row.state === 'error') throw storedError(row.answer);
      if (row.lapsed && (await store.takeOver(id, holder, until, iso(now)))) {
        // Our own stored JSON: the checkpoint of the attempt that let go.
        const from = row.answer === null || !resume ? undefined : (JSON.parse(row.answer) as unknown);
        return from === undefined || !resume ? hold(id, holder, work) : hold(id, holder, () => resume(from), true);
      }
      if (Date.now() >= deadline) {
        throw new ApflowError('APF_CONFLICT', {
          message: `idempotency key '${key}' is still in progress (${row.method}, by an earlier request that has not answered yet): retry later for its answer`,
          data: { idempotency_key: key, reason: 'in_progress' },
        });
      }
      await pause(id, delay);
    }
  }

  return { once, checkKey };
}

/** The caller's error a first request met, as stored (`ApflowError.toJSON()`), to throw again. */
function storedError(answer: string | null): ApflowError {
  // Our own stored JSON: what toJSON() of an ApflowError gave.
  const stored = JSON.parse(answer ?? '{}') as { code?: string; message?: string; data?: unknown };
  return new ApflowError(isErrorCode(stored.code) ? stored.code : 'APF_CONFLICT', {
    message: stored.message,
    ...(stored.data === undefined ? {} : { data: stored.data }),
  });
}
