import type { Logger, TaskEvent } from 'apflow';
import type { WebhookConfig } from './webhook-config.ts';

/** The body of one webhook request (reference/original-apflow.md §6.2, plus `seq`). */
export function webhookPayload(event: TaskEvent): Record<string, unknown> {
  return {
    protocol: 'jsonrpc',
    root_task_id: event.root_task_id,
    task_id: event.task_id,
    status: event.status,
    progress: event.progress,
    message: event.message ?? '',
    type: event.type,
    timestamp: event.timestamp,
    seq: event.seq,
    final: event.type === 'final',
    ...(event.result === undefined ? {} : { result: event.result }),
    ...(event.error === undefined ? {} : { error: event.error }),
  };
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
 * Sends one event, retrying 5xx answers and network errors (timeouts included) up to
 * `max_retries` times with backoff `retryBaseS`·2^n. A 4xx is not retried. Never throws: the
 * outcome is only logged, so delivery cannot affect the run.
 */
export async function deliverEvent(event: TaskEvent, config: Required<WebhookConfig>, retryBaseS: number, signal: AbortSignal, log: Logger): Promise<void> {
  const body = JSON.stringify(webhookPayload(event));
  const context = { url: config.url, root_task_id: event.root_task_id, seq: event.seq, type: event.type };
  for (let attempt = 0; attempt <= config.max_retries && !signal.aborted; attempt++) {
    if (attempt > 0) await pause(retryBaseS * 1000 * 2 ** (attempt - 1), signal);
    if (signal.aborted) return;
    let problem: string;
    try {
      const response = await fetch(config.url, {
        method: config.method,
        headers: { ...config.headers, 'content-type': 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeout * 1000)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 400) return;
      if (response.status < 500) {
        log.warn({ ...context, status: response.status }, 'webhook refused the event (not retried)');
        return;
      }
      problem = `HTTP ${response.status}`;
    } catch (error) {
      if (signal.aborted) return;
      problem = error instanceof Error ? `${error.name}: ${(error.cause as Error | undefined)?.message ?? error.message}` : String(error);
    }
    const retrying = attempt < config.max_retries;
    log.warn({ ...context, attempt: attempt + 1, problem, retrying }, retrying ? 'webhook delivery failed; retrying' : 'webhook delivery failed; giving up on this event');
  }
}
