import type { OpenQuestion } from './params.ts';
import type { NewTree, PluginApp, TaskEvent, TreeOutcome } from 'apflow';
import { alreadyRunning } from './execute-to-follow.ts';
import type { Caller } from './run-methods.ts';

/** The answer of a run that stopped to ask: the tree goes on once `tasks.resume` answers. */
export type { OpenQuestion };

export interface WaitingOutcome extends Omit<TreeOutcome, 'status'> {
  status: 'input_required';
  waiting: OpenQuestion[];
}

/** A run a call began: what a retry of the call needs to follow it instead of beginning another. */
export interface RunStarted {
  task_id: string;
  root_task_id: string;
  first_seq: number;
}

/**
 * Runs the tree of `target` (a task id, or a new tree) and answers when it ends or when one of its tasks asks for input
 * (a person may take hours: the call does not hold the connection that long). `started` hears
 * of the run before it is followed (an idempotent call records it, see idempotent.ts).
 */
export async function runToAnswer(
  app: PluginApp,
  target: string | NewTree,
  caller: Caller,
  demo = false,
  started?: (run: RunStarted) => Promise<void>,
) {
  const answer = await app.engine.execute(target, { request: caller.request, demo });
  if (!answer.started) return { already_running: alreadyRunning(answer) };
  const run = { task_id: answer.task_id, root_task_id: answer.root_task_id, first_seq: answer.first_seq };
  await started?.(run);
  return followToAnswer(app, run, answer.done);
}

/**
 * Follows a run begun earlier (here, or by the first of a retried call's attempts) to the answer
 * {@link runToAnswer} gives: its outcome, or the questions open when the first was asked. The
 * questions listed are those open then; the run goes on in the background.
 */
export function followToAnswer(
  app: PluginApp,
  run: RunStarted,
  done: Promise<TreeOutcome> = app.engine.outcome(run),
): Promise<TreeOutcome | WaitingOutcome> {
  return new Promise<TreeOutcome | WaitingOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: TreeOutcome | WaitingOutcome) => {
      if (settled) return;
      settled = true;
      following.stop();
      resolve(outcome);
    };
    const asked = (event: TaskEvent) => {
      if (event.type !== 'task_waiting' || event.waiting?.kind !== 'input' || settled) return;
      void openQuestions(app, run.root_task_id).then(
        (waiting) =>
          finish({
            root_task_id: run.root_task_id,
            task_id: run.task_id,
            status: 'input_required',
            progress: event.progress,
            waiting,
          }),
        reject,
      );
    };
    const following = app.engine.follow(run.root_task_id, run.first_seq - 1, asked);
    done.then(finish, reject);
  });
}

/** The questions tasks of the tree wait on now. */
async function openQuestions(app: PluginApp, rootId: string): Promise<OpenQuestion[]> {
  const rows = await app.tasks.tree(rootId);
  return rows.flatMap((row) => {
    const wait = row.waiting;
    if (row.status !== 'input_required' || wait?.kind !== 'input') return [];
    return [
      {
        task_id: row.id,
        prompt: wait.prompt,
        ...(wait.schema ? { schema: wait.schema } : {}),
        ...(wait.timeout_at ? { timeout_at: wait.timeout_at } : {}),
      },
    ];
  });
}
