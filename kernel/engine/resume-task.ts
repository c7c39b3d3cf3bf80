import { Compile } from 'typebox/compile';
import { ApflowError } from '../errors/apflow-error.ts';
import { hasNul } from '../internal/to-json-value.ts';
import { selectRowsIn } from '../storage/queries/run-queries.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TreeTx } from './tree-tx.ts';

/** What `resume` answers. */
export interface ResumeAnswer {
  task_id: string;
  status: 'pending';
  resumed: true;
}

/**
 * Answers the question a task waits on (status `input_required`), inside `tx` under its root's
 * lock: the answer, checked against the question's JSON Schema, is stored in the task's memory
 * under the question's key, and the task becomes claimable at once, so any engine runs its
 * executor again and `ctx.askInput` returns the answer. `by` (the user who answered) is kept
 * with it.
 */
export async function resumeTask(tx: TreeTx, taskId: string, input: unknown, by: string | null): Promise<ResumeAnswer> {
  const [found] = await selectRowsIn(tx.sql, tx.runner, [taskId]);
  if (!found) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  await tx.lock([found.root_id]);
  const [row] = (await selectRowsIn(tx.sql, tx.runner, [taskId])) as [TaskRow];
  const wait = row.waiting;
  if (row.status !== 'input_required' || wait?.kind !== 'input') {
    const answered = Object.values(row.steps ?? {}).some((step) => 'answer' in step) && !row.completed_at;
    const why = answered ? ': its question was answered already' : '';
    throw new ApflowError('APF_CONFLICT', {
      message: `Task ${taskId} is not waiting for input (status: ${row.status})${why}`,
      data: { status: row.status },
    });
  }
  if (input === undefined) throw new ApflowError('APF_INVALID_PARAMS', { message: 'input is required: the answer' });
  if (hasNul(JSON.stringify(input)))
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'The answer holds the character U+0000, which cannot be stored',
    });
  if (wait.schema) {
    const check = Compile(wait.schema as never);
    if (!check.Check(input)) {
      const problems = [...check.Errors(input)].map((e) => `${e.instancePath || 'input'} ${e.message}`);
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `The answer does not match the question's schema: ${problems.join('; ')}`,
        data: { problems },
      });
    }
  }
  const steps = { ...row.steps, [wait.key]: { answer: input, by } };
  const change: Partial<TaskRow> = { status: 'pending', steps, waiting: null, ready_at: tx.now, updated_at: tx.now };
  tx.set(taskId, change);
  tx.event('progress', { ...row, ...change }, 'Input received');
  tx.notes.wake = true;
  return { task_id: taskId, status: 'pending', resumed: true };
}
