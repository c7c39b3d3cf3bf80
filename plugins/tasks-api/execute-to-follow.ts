import type { AlreadyRunning, NewTree, PluginApp, RequestContext } from 'apflow';

/**
 * What {@link executeToFollow} gives back: the begun run's root and the seq its events follow
 * (`after`: the run's first event is `after + 1`), or the answer for a tree already running.
 */
export type ToFollow = { rootId: string; taskId: string; after: number } | { already_running: Record<string, unknown> };

/**
 * Begins the run of `target`'s tree (a task id, or a new tree: created in the same transaction)
 * without waiting for it (in demo mode with `demo`), for
 * answers that stream or call back. Streams start at the run's own first event, as the engine
 * reports it: never inside an earlier run of the same tree.
 */
export async function executeToFollow(
  app: PluginApp,
  target: string | NewTree,
  request: RequestContext,
  demo = false,
): Promise<ToFollow> {
  const answer = await app.engine.execute(target, { request, demo });
  if (!answer.started) return { already_running: alreadyRunning(answer) };
  return { rootId: answer.root_task_id, taskId: answer.task_id, after: answer.first_seq - 1 };
}

/** The tasks API's answer for a tree already running (the original's words). */
export function alreadyRunning(answer: AlreadyRunning): Record<string, unknown> {
  return {
    success: false,
    protocol: 'jsonrpc',
    root_task_id: answer.root_task_id,
    status: 'already_running',
    message: `Task ${answer.task_id} is already running`,
  };
}
