import { ApflowError, type NewTree, type PluginApp, type RequestContext } from 'apflow';
import { executeToFollow } from './execute-to-follow.ts';

/** A checked `webhook_config`, ready to watch a tree once its run has started. */
export interface WebhookHook {
  url: string;
  /** Sends the tree's events with seq > `after` to the webhook. */
  watch(rootId: string, after: number): void;
}

/** Checks `webhook_config` of `tasks.execute` (before anything runs). */
export async function webhookHook(app: PluginApp, config: Record<string, unknown>): Promise<WebhookHook> {
  if (typeof config.url !== 'string' || config.url === '')
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'webhook_config.url is required' });
  const webhooks = app.service('webhooks');
  if (!webhooks)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'webhook_config needs the webhooks plugin, which is disabled on this server',
    });
  const checked = await webhooks.check(config);
  return { url: checked.url, watch: (rootId, after) => void webhooks.watch(rootId, after, checked) };
}

/**
 * Starts the tree of `target` (a task id, or a new tree) with webhook callbacks and answers at once (the events of this run
 * go to the webhook, not to the caller); reports instead when the tree is already running.
 */
export async function webhookRun(
  app: PluginApp,
  target: string | NewTree,
  hook: WebhookHook,
  extra: Record<string, unknown>,
  request: RequestContext,
  demo = false,
): Promise<unknown> {
  const started = await executeToFollow(app, target, request, demo);
  if ('already_running' in started) return started.already_running;
  // Events of this run only: the log may hold earlier runs of the same tree.
  hook.watch(started.rootId, started.after);
  return {
    success: true,
    protocol: 'jsonrpc',
    root_task_id: started.rootId,
    task_id: started.taskId,
    status: 'started',
    streaming: true,
    webhook_url: hook.url,
    message: `Task execution started with webhook callbacks. Updates will be sent to ${hook.url}`,
    ...extra,
  };
}
