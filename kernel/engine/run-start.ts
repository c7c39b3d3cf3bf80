import type { ApflowError } from '../errors/apflow-error.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { RequestContext, RunStartContext } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { TaskRepository } from './task-repository.ts';

/** What the `runStart` taps decided for a run about to begin. */
export interface RunStartGate {
  /** Run it in demo mode (asked, or a tap's fallback). */
  demo: boolean;
  /** Refuse it with this unless the tree is running already (decided where it would begin). */
  refuseUnlessRunning?: ApflowError;
  /** Tells the taps whether the run began (a tree running already begins none). */
  after(begun: boolean): Promise<void>;
}

/**
 * Passes a run of the tree of `taskId` through the `runStart` hook before it begins: a tap may
 * refuse it (thrown here, so nothing runs) or turn it into a demo. Without taps (most servers)
 * it costs nothing: no read, no hook call.
 */
export async function passRunStart(
  deps: { hooks: Hooks; repo: TaskRepository; log: Logger },
  taskId: string,
  options: { request?: RequestContext; demo: boolean },
): Promise<RunStartGate> {
  const unchanged: RunStartGate = { demo: options.demo, after: async () => undefined };
  if (!deps.hooks.runStart.isUsed()) return unchanged;
  const row = await deps.repo.get(taskId);
  if (!row) return unchanged; // beginning it says it is not found
  const before: RunStartContext = {
    phase: 'before',
    task_id: taskId,
    root_task_id: row.root_id,
    user_id: row.user_id,
    ...(options.request ? { request: options.request } : {}),
    demo: options.demo,
    state: {},
  };
  const decided = await deps.hooks.runStart.promise(before);
  if (decided.refuse) throw decided.refuse;
  return {
    demo: decided.demo,
    ...(decided.refuseUnlessRunning ? { refuseUnlessRunning: decided.refuseUnlessRunning } : {}),
    async after(begun) {
      try {
        await deps.hooks.runStart.promise({ ...decided, phase: 'after', begun });
      } catch (error) {
        deps.log.error({ err: error, root_task_id: row.root_id }, 'a runStart tap failed after the start');
      }
    },
  };
}
