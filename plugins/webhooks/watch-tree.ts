import type { PluginApp, TaskEvent } from 'apflow';
import { deliverEvent } from './deliver.ts';
import type { WebhookConfig } from './webhook-config.ts';

/** Settings of the webhooks plugin. */
export interface WebhookSettings {
  /** First retry delay in seconds; each further retry doubles it. */
  retry_base_s: number;
  /** Events a watch may hold undelivered before the oldest are dropped. */
  max_queue: number;
}

/** A running watch: stop it to abort its deliveries. */
export interface Watch {
  stop(): void;
  /** Resolves once the watch has ended (after the final event, or when stopped). */
  readonly ended: Promise<void>;
}

/**
 * Sends every event of the tree `rootId` with a seq above `after` to the webhook, in order and one
 * at a time: what the event log holds first, then the live events, until the `final` event.
 */
export function watchTree(app: PluginApp, settings: WebhookSettings, rootId: string, after: number, config: Required<WebhookConfig>): Watch {
  const controller = new AbortController();
  const queue: TaskEvent[] = [];
  let queued = after;
  let replaying = true;
  let working = false;
  let finished = false;
  const waiting: TaskEvent[] = [];
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));

  const stop = () => {
    if (finished) return;
    finished = true;
    unsubscribe();
    controller.abort();
    queue.length = 0;
    end();
  };
  const enqueue = (event: TaskEvent) => {
    if (event.seq <= queued || finished) return;
    queued = event.seq;
    if (queue.length >= settings.max_queue) {
      const dropped = queue.shift();
      app.log.warn({ url: config.url, root_task_id: rootId, seq: dropped?.seq }, 'webhook queue full; dropped the oldest event');
    }
    queue.push(event);
    void work();
  };
  async function work(): Promise<void> {
    if (working) return;
    working = true;
    try {
      while (!finished && queue.length > 0) {
        const event = queue.shift() as TaskEvent;
        await deliverEvent(event, config, settings.retry_base_s, controller.signal, app.log);
        if (event.type === 'final') stop();
      }
    } finally {
      working = false;
    }
  }

  // Listen first, then read the log: nothing falls between the two, and duplicates are dropped by seq.
  const unsubscribe = app.engine.subscribe((event) => {
    if (event.root_task_id !== rootId) return;
    if (replaying) waiting.push(event);
    else enqueue(event);
  });
  void (async () => {
    try {
      for (const event of await app.tasks.events(rootId, after)) enqueue(event);
    } catch (error) {
      app.log.warn({ url: config.url, root_task_id: rootId, err: error }, 'webhook could not read the event log');
    }
    replaying = false;
    for (const event of waiting.sort((a, b) => a.seq - b.seq)) enqueue(event);
    waiting.length = 0;
  })();
  return { stop, ended };
}
