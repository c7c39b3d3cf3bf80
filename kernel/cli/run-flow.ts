import { randomUUID } from 'node:crypto';
import type { ApflowClient, ExecuteAnswer, TaskTreeJson } from '../../client/index.ts';
import type { Connection } from './connect.ts';
import { resumeHint, startLiveView, taskNames } from './run-live.ts';
import type { TaskInput } from './read-input.ts';

/** What `run flow` runs, and how. */
export interface RunPlan {
  /** The trees to create and run, one per root group; absent with `taskId`. */
  groups?: TaskInput[][];
  /** A stored task to run (`--task-id`): its tree, or the task and its dependencies. */
  taskId?: string;
  demo: boolean;
  /** Show the live view on stderr (a terminal, or --watch). */
  live: boolean;
}

/** The tree of a group, created (or, with `--task-id`, the stored tree read). */
export async function treeOf(client: ApflowClient, plan: RunPlan, group: TaskInput[] | undefined) {
  if (group === undefined) return client.tasks.tree({ task_id: plan.taskId as string });
  // With a key, a create whose connection dropped is sent again and still creates one tree.
  return client.tasks.create({ tasks: group }, { idempotencyKey: randomUUID() });
}

/**
 * Runs each group as a tree of its own, in order, and answers what `tasks.execute` answered for
 * each. Ctrl-C (SIGINT, SIGTERM) cancels the tree running and runs no further group; one while a
 * tree is being created leaves that tree created and not run (exit 1). The handler stays for the
 * whole command, so a second Ctrl-C does not kill a run half done; a third, once the cancel was
 * sent, ends the process at once.
 */
export async function runForeground(connection: Connection, plan: RunPlan): Promise<ExecuteAnswer[]> {
  const { client } = connection;
  const where = connection.remote ? `on ${connection.where}` : 'on a server using this database (apflow serve)';
  let running: string | undefined;
  let interrupted = false;
  let cancelling: string | undefined;
  let warned = false;
  const interrupt = () => {
    interrupted = true;
    if (running === undefined) return;
    if (cancelling === running) {
      if (warned) process.exit(130);
      warned = true;
      return void process.stderr.write(`still cancelling ${running}: Ctrl-C again to quit now\n`);
    }
    const id = (cancelling = running);
    process.stderr.write(`cancelling ${id}…\n`);
    client.tasks
      .cancel({ task_ids: [id], error_message: 'Cancelled from the command line' })
      .catch((error: unknown) => process.stderr.write(`apflow: could not cancel ${id}: ${String(error)}\n`));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const answers: ExecuteAnswer[] = [];
  try {
    for (const group of plan.groups ?? [undefined]) {
      if (interrupted) break;
      const tree: TaskTreeJson = await treeOf(client, plan, group);
      if (interrupted) {
        const target = plan.taskId ?? tree.id;
        const again = `apflow run flow --task-id ${target}${connection.remote ? ` --server ${connection.where}` : ''}`;
        const what =
          plan.taskId === undefined ? `the tree ${tree.id} was created and not run` : `${target} was not run`;
        process.stderr.write(`interrupted: ${what} (run it with ${again})\n`);
        break;
      }
      running = tree.id;
      const live = plan.live ? startLiveView(client, tree.id, taskNames(tree), where) : undefined;
      let answer: ExecuteAnswer;
      try {
        answer = await client.tasks.execute(
          { task_id: plan.taskId ?? tree.id, ...(plan.demo ? { use_demo: true } : {}) },
          { idempotencyKey: randomUUID() },
        );
      } catch (error) {
        await live?.stop();
        throw error;
      }
      await live?.finish(answer);
      running = undefined;
      answers.push(answer);
      if (answer.status === 'input_required') showQuestions(answer, where);
    }
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (interrupted) process.exitCode = 1;
  return answers;
}

/** The questions a run stopped at, and how to answer them (its exit code is 1). */
function showQuestions(answer: ExecuteAnswer, where: string): void {
  const lines = (answer.waiting ?? []).map((question) => `  ${question.task_id} asks: ${question.prompt}`);
  const first = answer.waiting?.[0]?.task_id ?? answer.root_task_id;
  process.stderr.write(
    `⏸ the run of ${answer.root_task_id} waits for input:\n${lines.join('\n')}\n${resumeHint(first, where)}; the run goes on there\n`,
  );
}
