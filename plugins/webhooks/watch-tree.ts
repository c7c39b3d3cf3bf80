import { runTraceHeaders, tracingActive, type Outbound, type PluginApp, type TaskEvent } from 'apflow';
import { deliverEvent, loggedUrl } from './deliver.ts';
import type { WebhookConfig } from './webhook-config.ts';

/** Settings of the webhooks plugin. */
export interface WebhookSettings {
  /** First retry delay in seconds; each further retry doubles it. */
  retry_base_s: number;
  /** Events a watch may hold undelivered before the oldest are dropped. */
  max_queue: number;
  allow_private: boolean;
  allow_hosts: string[];
  deny_hosts: string[];
}

/** A running watch: stop it to abort its deliveries. */
export interface Watch {
  stop(): void;
  /** Resolves once the watch has ended (after the final event, or when stopped). */
  readonly ended: Promise<void>;
}

/**
 * Sends every event of the tree `rootId` with a seq above `after` to the webhook, in order and one
 * at a time: what the event log holds first, then the live events, until the `final` event. Each
 * request goes through `outbound` (the policy with the webhooks' own allowances).
 */
export function watchTree(
  app: PluginApp,
  settings: WebhookSettings,
  rootId: string,
  after: number,
  config: Required<WebhookConfig>,
  outbound: Outbound,
): Watch {
  const controller = new AbortController();
  const queue: TaskEvent[] = [];
  let working = false;
  let finished = false;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));

  const stop = () => {
    if (finished) return;
    finished = true;
    following.stop();
    controller.abort();
    queue.length = 0;
    end();
  };
  const enqueue = (event: TaskEvent) => {
    if (finished) return;
    if (queue.length >= settings.max_queue) {
      const dropped = queue.shift();
      app.log.warn(
        { url: loggedUrl(config.url), root_task_id: rootId, seq: dropped?.seq },
        'webhook queue full; dropped the oldest event',
      );
      app.service('metrics')?.eventsDropped('webhooks');
    }
    queue.push(event);
    void work();
  };
  async function work(): Promise<void> {
    if (working) return;
    working = true;
    try {
      while (!finished) {
        const event = queue.shift();
        if (!event) break;
        const trace = tracingActive() ? runTraceHeaders(await app.tasks.get(rootId)) : {};
        const delivered = await deliverEvent(
          event,
          config,
          settings.retry_base_s,
          controller.signal,
          app.log,
          outbound,
          trace,
        );
        if (!delivered && !controller.signal.aborted) app.service('metrics')?.eventsDropped('webhooks');
        if (event.type === 'final') stop();
      }
    } finally {
      working = false;
    }
  }

  const following = app.engine.follow(rootId, after, enqueue);
  following.replayed.catch((error: unknown) =>
    app.log.warn(
      { url: loggedUrl(config.url), root_task_id: rootId, err: error },
      'webhook could not read the event log',
    ),
  );
  return { stop, ended };
}
