import { isApflowError, type PluginApp, type RequestContext } from 'apflow';

/**
 * What {@link startRun} gives back: the started run's root and the seq its events follow (`after`:
 * the run's first event is `after + 1`), or the answer for a tree already running.
 */
export type Started = { rootId: string; after: number } | { already_running: Record<string, unknown> };

/**
 * Starts the tree of `taskId` without waiting for it (in demo mode with `demo`), for answers that
 * stream or call back. Streams start at the run's own first event, as the engine reports it:
 * never inside an earlier run of the same tree.
 */
export async function startRun(
  app: PluginApp,
  taskId: string,
  request: RequestContext,
  demo = false,
): Promise<Started> {
  try {
    const run = await app.engine.execute(taskId, { request, demo });
    return { rootId: run.root_task_id, after: run.first_seq - 1 };
  } catch (error) {
    return { already_running: alreadyRunning(error, taskId) };
  }
}

/** The tasks API's answer for a tree already running (the engine's APF_CONFLICT); any other error is thrown again. */
export function alreadyRunning(error: unknown, taskId: string): Record<string, unknown> {
  if (!isApflowError(error) || error.code !== 'APF_CONFLICT') throw error;
  const rootId = (error.data as { root_task_id?: string } | undefined)?.root_task_id ?? taskId;
  return {
    success: false,
    protocol: 'jsonrpc',
    root_task_id: rootId,
    status: 'already_running',
    message: `Task ${taskId} is already running`,
  };
}
