import { postWithRetries, type Logger, type Outbound, type TaskEvent } from 'apflow';
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

/** A webhook URL as logged: origin and path only (its query may hold a key). */
export function loggedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Sends one event through the outbound policy, retrying 5xx answers and network errors (timeouts included) up to
 * `max_retries` times with backoff `retryBaseS`·2^n. A 4xx is not retried. Never throws: the
 * outcome is logged (and returned: true once delivered), so delivery cannot affect the run.
 * `trace`: the run's `traceparent` header, when the run is traced.
 */
export async function deliverEvent(
  event: TaskEvent,
  config: Required<WebhookConfig>,
  retryBaseS: number,
  signal: AbortSignal,
  log: Logger,
  outbound: Outbound,
  trace: Record<string, string> = {},
): Promise<boolean> {
  return postWithRetries({
    url: config.url,
    outbound,
    method: config.method,
    // The run's traceparent (when traced) first: a header the webhook's config names wins.
    headers: { ...trace, ...config.headers, 'content-type': 'application/json' },
    body: JSON.stringify(webhookPayload(event)),
    timeoutS: config.timeout,
    maxRetries: config.max_retries,
    retryBaseS,
    signal,
    log,
    context: { url: loggedUrl(config.url), root_task_id: event.root_task_id, seq: event.seq, type: event.type },
    what: 'webhook',
  });
}
