import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import { refusalDetail } from '../outbound/outbound-refusal.ts';

/** One outbound delivery (a webhook, a push notification). */
export interface Delivery {
  url: string;
  /** The outbound policy the request goes through (each connection is checked when it opens). */
  outbound: Outbound;
  method?: string;
  headers: Record<string, string>;
  body: string;
  /** Seconds one attempt may take. */
  timeoutS: number;
  /** Attempts after the first. */
  maxRetries: number;
  /** First retry delay in seconds; each further retry doubles it. */
  retryBaseS: number;
  /** Stops waiting and retrying (the watch or the server ended). */
  signal: AbortSignal;
  log: Logger;
  /** Fields for the log lines (never the headers: they may hold credentials). */
  context: Record<string, unknown>;
  /** What is delivered, in log lines ("webhook", "push notification"). */
  what: string;
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Sends one request through the outbound policy, retrying 5xx answers and network errors
 * (timeouts included) up to `maxRetries` times with backoff `retryBaseS`·2^n. A 4xx or a
 * refusal by the policy is not retried; redirects are not followed. Never throws: the outcome
 * is logged, and returned (true once delivered).
 */
export async function postWithRetries(delivery: Delivery): Promise<boolean> {
  const { signal, log, context, what } = delivery;
  for (let attempt = 0; attempt <= delivery.maxRetries && !signal.aborted; attempt++) {
    if (attempt > 0) await pause(delivery.retryBaseS * 1000 * 2 ** (attempt - 1), signal);
    if (signal.aborted) return false;
    let problem: string;
    try {
      const response = await delivery.outbound.fetch(delivery.url, {
        method: delivery.method ?? 'POST',
        headers: delivery.headers,
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(delivery.timeoutS * 1000)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 400) return true;
      if (response.status < 500) {
        log.warn({ ...context, status: response.status }, `${what} refused (not retried)`);
        return false;
      }
      problem = `HTTP ${response.status}`;
    } catch (error) {
      if (signal.aborted) return false;
      const refused = refusalDetail(error);
      if (refused) {
        log.warn(
          { ...context, problem: `${refused.target} is refused: ${refused.reason}` },
          `${what} refused by the outbound policy (not retried)`,
        );
        return false;
      }
      problem = error instanceof Error ? `${error.name}: ${messageOf(error.cause) ?? error.message}` : String(error);
    }
    const retrying = attempt < delivery.maxRetries;
    log.warn(
      { ...context, attempt: attempt + 1, problem, retrying },
      retrying ? `${what} delivery failed; retrying` : `${what} delivery failed; giving up`,
    );
  }
  return false;
}

/** The `message` of a cause, when it is an object that has one. */
function messageOf(cause: unknown): unknown {
  return typeof cause === 'object' && cause !== null && 'message' in cause ? cause.message : undefined;
}
