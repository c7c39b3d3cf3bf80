import type { TaskCounts, TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { RunBegun } from './begin-runs.ts';
import type { Following } from './follow-tree.ts';
import type { TaskRepository } from './task-repository.ts';

/** How a tree run ended: the executed task's state (the root's for a whole tree). */
export interface TreeOutcome {
  root_task_id: string;
  task_id: string;
  status: string;
  progress: number;
  result?: unknown;
  error?: string;
  /** The run's tasks per status (from its `final` event): a root may complete with failed tasks. */
  counts?: TaskCounts;
}

/**
 * Resolves with the outcome once `run`, just committed, ends — wherever its last task ran — and
 * calls `ended` first. Called in the same tick as the commit: nothing of the tree can have been
 * announced since, so it follows from the beginning transaction's last event without reading the
 * log again.
 */
export function awaitOutcome(
  parts: {
    repo: TaskRepository;
    follow: (rootId: string, after: number, onEvent: (event: TaskEvent) => void, o?: { replay?: boolean }) => Following;
    log: Logger;
  },
  taskId: string,
  run: Extract<RunBegun, { begun: true }>,
  ended: () => void,
): Promise<TreeOutcome> {
  const { rootId } = run;
  return new Promise((resolve) => {
    const end = (event: { status: string; progress: number; counts?: TaskCounts }) => {
      ended();
      // The task's row says what it ended with; if it cannot be read, the final event still does.
      const read = parts.repo.get(taskId).catch((error: unknown) => {
        parts.log.error({ err: error, task_id: taskId }, 'cannot read the task a run ended with');
        return null;
      });
      void read.then((target) => {
        const outcome: TreeOutcome = {
          root_task_id: rootId,
          task_id: taskId,
          status: target?.status ?? event.status,
          progress: target?.progress ?? event.progress,
        };
        if (target && target.result !== null) outcome.result = target.result;
        if (target?.error) outcome.error = target.error;
        if (event.counts) outcome.counts = event.counts;
        resolve(outcome);
      });
    };
    if (run.endedAtOnce) return end({ status: 'failed', progress: 0 });
    const live = run.lastSeq !== undefined;
    const following = parts.follow(
      rootId,
      run.lastSeq ?? run.firstSeq - 1,
      (event) => {
        if (event.type !== 'final') return;
        following.stop();
        end(event);
      },
      { replay: !live },
    );
    following.replayed.catch((error: unknown) =>
      parts.log.error({ err: error, root_task_id: rootId }, 'cannot follow a run to its end'),
    );
  });
}
