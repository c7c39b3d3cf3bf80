import type { ApflowClient, ExecuteAnswer, TaskEvent, TaskTreeJson, TaskWait } from '../../client/index.ts';
import { errorMessage } from '../internal/error-message.ts';

const MARKS: Partial<Record<TaskEvent['type'], string>> = {
  task_start: '▶',
  task_completed: '✓',
  task_failed: '✗',
  task_cancelled: '■',
  task_waiting: '⏸',
  progress: '…',
};

/** The live view of one run, on stderr. */
export interface LiveView {
  /** The run answered: show its last events (up to its `final`), then stop. */
  finish(answer: ExecuteAnswer): Promise<void>;
  /** Stop at once (the run could not be begun). */
  stop(): Promise<void>;
}

/** Task names by id, from a tree as tasks.create and tasks.tree answer it. */
export function taskNames(tree: TaskTreeJson): Map<string, string> {
  const names = new Map<string, string>();
  const walk = (node: TaskTreeJson) => {
    names.set(node.id, node.name);
    for (const child of node.children ?? []) walk(child);
  };
  walk(tree);
  return names;
}

/**
 * Shows the events of the tree of `rootId` on stderr as they come (`▶ name  in_progress`), from
 * the start of its event log: the tree is fresh, or (`--task-id`) its earlier runs are shown
 * first. `where` ends the hint for a question: where `tasks.resume` answers it.
 */
export function startLiveView(
  client: ApflowClient,
  rootId: string,
  names: Map<string, string>,
  where: string,
): LiveView {
  const controller = new AbortController();
  let answered = false;
  let finalSeen = false;
  let sinceFinal = 0;
  const following = (async () => {
    let last = 0;
    // A follow ends at a `final`: this run's, or an earlier run's of a tree run before (then go on).
    while (!answered) {
      for await (const event of client.follow(rootId, { lastEventId: last, signal: controller.signal })) {
        last = event.seq;
        if (event.type === 'final') [finalSeen, sinceFinal] = [true, 0];
        else sinceFinal++;
        showEvent(event, names, where);
      }
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) process.stderr.write(`(the live view stopped: ${errorMessage(error)})\n`);
  });
  return {
    async finish(answer) {
      answered = true;
      // An ended run's `final` is in this tree's log: wait for it unless it was shown already. (A
      // user running an ownerless tree ran a copy of it, another tree: nothing more comes here.)
      const ended = ['completed', 'failed', 'cancelled'].includes(answer.status) && answer.root_task_id === rootId;
      if (!ended || (finalSeen && sinceFinal === 0)) controller.abort();
      await following;
    },
    async stop() {
      answered = true;
      controller.abort();
      await following;
    },
  };
}

/** One event as a line: `✓ name  completed`. */
export function showEvent(event: TaskEvent, names: Map<string, string>, where: string): void {
  const mark = MARKS[event.type];
  if (!mark) return;
  const name = names.get(event.task_id) ?? event.task_id;
  const detail =
    event.error ??
    event.message ??
    (event.waiting ? waitingText(event.waiting, event.task_id, where) : undefined) ??
    (event.type === 'progress' ? `${Math.round(event.progress * 100)}%` : event.status);
  process.stderr.write(`${mark} ${name}  ${detail}\n`);
}

/** What a waiting task waits for, and for a question how to answer it. */
export function waitingText(wait: TaskWait, taskId: string, where: string): string {
  if (wait.kind === 'sleep') return `sleeping until ${wait.until}`;
  if (wait.kind === 'children') return `waiting for ${wait.task_ids.length} spawned tasks`;
  return `asks: ${wait.prompt} (${resumeHint(taskId, where)})`;
}

/** How to answer the question of `taskId`. */
export function resumeHint(taskId: string, where: string): string {
  return `answer with tasks.resume {"task_id": "${taskId}", "input": …} ${where} (apflow tasks resume ${taskId} --input JSON)`;
}
