import type { PluginApp, TreeOutcome } from 'apflow';
import { answerStream, startStream } from './stream-run.ts';
import { idempotent } from './idempotent.ts';
import { ExecuteTreeParams } from './params.ts';
import { newTreeFor } from './run-methods.ts';
import { followToAnswer, runToAnswer, type RunStarted, type WaitingOutcome } from './run-to-answer.ts';

/**
 * `execute_task_tree` on `POST /` (the guide's A2A example): creates the tree, runs it, and
 * answers with the root's status, progress, result and id — or, when a task asks for input
 * first, with `status: 'input_required'` and the questions open (`waiting`).
 */
export function registerExecuteTaskTree(app: PluginApp): void {
  app.rpc.method('/', 'execute_task_tree', {
    params: ExecuteTreeParams,
    description:
      'Creates and runs a task tree; answers when it ends, or when a task asks for input (status input_required)',
    async handler(params, ctx) {
      // A retry with the key follows the first call's run (a stream) or gets its answer.
      const answer = await idempotent(
        app,
        ctx,
        params,
        async (checkpoint) => {
          // Created and begun in one transaction.
          const tree = newTreeFor(params.tasks, ctx);
          if (params.use_streaming) {
            return startStream(app, ctx, tree, (ids) => ({
              ...ids,
              status: 'started',
              streaming: true,
              message: 'Task tree execution started with streaming',
            }));
          }
          const outcome = await runToAnswer(app, tree, ctx, false, async (run) => checkpoint?.(run));
          if ('already_running' in outcome) return outcome.already_running;
          return treeAnswer(outcome);
        },
        // A retry whose first attempt is gone follows the run that attempt began.
        async (checkpoint) => treeAnswer(await followToAnswer(app, checkpoint as RunStarted)),
      );
      return answerStream(app, ctx, answer);
    },
  });
}

/** execute_task_tree's answer for a run's outcome (or the questions it stopped at). */
function treeAnswer(outcome: TreeOutcome | WaitingOutcome) {
  return {
    status: outcome.status,
    progress: outcome.progress,
    root_task_id: outcome.root_task_id,
    ...('waiting' in outcome ? { waiting: outcome.waiting } : {}),
    ...(outcome.result === undefined ? {} : { result: outcome.result }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
}
