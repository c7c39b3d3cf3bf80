import { ApflowError, isApflowError, type PluginApp, type RequestContext, type TaskRow } from 'apflow';

/** What {@link startRun} gives back: the started tree's root, or the answer for a tree already running. */
export type Started = { root: TaskRow } | { already_running: Record<string, unknown> };

/**
 * Starts the tree of `taskId` without waiting for it (in demo mode with `demo`), for answers that
 * stream or call back.
 * The root is read before the run starts: its `event_seq` is where this run's events begin.
 */
export async function startRun(app: PluginApp, taskId: string, request: RequestContext, demo = false): Promise<Started> {
  const task = await app.tasks.get(taskId);
  const root = task && (task.id === task.root_id ? task : await app.tasks.get(task.root_id));
  if (!task || !root) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  try {
    await app.engine.execute(taskId, { request, demo });
    return { root };
  } catch (error) {
    if (!isApflowError(error) || error.code !== 'APF_CONFLICT') throw error;
    return { already_running: { success: false, protocol: 'jsonrpc', root_task_id: root.id, status: 'already_running', message: `Task ${taskId} is already running` } };
  }
}
