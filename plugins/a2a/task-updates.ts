import type { StreamResponse } from '@a2a-js/sdk';
import type { PluginApp, TaskEvent } from 'apflow';
import type { A2aTaskRow } from './a2a-store.ts';
import { questionOf, type Question } from './questions.ts';
import { artifactUpdate, statusUpdate, STATE, treeState } from './task-view.ts';

/** One update, the seq of the event it tells of, and whether it is that event's last update. */
export interface TreeUpdate {
  response: StreamResponse;
  seq: number;
  last: boolean;
  /** The A2A state the update reports (v1.0 name). */
  state: string;
}

/** Where to follow a tree from, beside the event seq. */
export interface FollowOptions {
  /** Stops following when aborted (while waiting for the next event). */
  signal?: AbortSignal;
  /** The questions open at the seq followed from (read after it, see questions.ts). */
  questions?: readonly Question[];
}

/**
 * The A2A updates of a task's tree from event `after` on: a status update for each event (the
 * event as a data part) — `working`, or `input-required` with the open questions while a task
 * of the tree waits for an answer — and at the tree's `final` event the result artifact (when it
 * completed) and the terminal status update; then it ends. Stopping early (the client left, or
 * `signal` aborted while waiting for the next event) stops following the tree.
 */
export async function* treeUpdates(
  app: PluginApp,
  row: A2aTaskRow,
  rootId: string,
  after: number,
  options: FollowOptions = {},
): AsyncGenerator<TreeUpdate> {
  const { signal } = options;
  const open = new Map((options.questions ?? []).map((question) => [question.task_id, question]));
  const waiting: TaskEvent[] = [];
  let wake: (() => void) | undefined;
  const following = app.engine.follow(rootId, after, (event) => {
    waiting.push(event);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (waiting.length === 0) {
        if (signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const event = waiting.shift() as TaskEvent;
      if (event.type !== 'final') {
        track(open, event);
        const questions = [...open.values()];
        const state = questions.length > 0 ? STATE.inputRequired : STATE.working;
        yield {
          response: { payload: { $case: 'statusUpdate', value: statusUpdate(row, state, event, questions) } },
          seq: event.seq,
          last: true,
          state,
        };
        continue;
      }
      const root = await app.tasks.get(rootId);
      if (root?.status === 'completed')
        yield {
          response: { payload: { $case: 'artifactUpdate', value: artifactUpdate(row, root) } },
          seq: event.seq,
          last: false,
          state: STATE.completed,
        };
      const state = root ? treeState(root) : STATE.failed;
      yield {
        response: { payload: { $case: 'statusUpdate', value: statusUpdate(row, state, event) } },
        seq: event.seq,
        last: true,
        state,
      };
      return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    following.stop();
  }
}

/**
 * Keeps `open` (the questions by task) up to date with one event: a task asks when an event
 * shows it `input_required` with its question, and is answered (or cancelled, or timed out) at
 * its next event in another status.
 */
function track(open: Map<string, Question>, event: TaskEvent): void {
  if (event.status === 'input_required') {
    if (event.waiting?.kind === 'input') open.set(event.task_id, questionOf(event.task_id, event.waiting));
  } else open.delete(event.task_id);
}

/**
 * Follows `updates` until the task is interrupted (`input-required`) or its tree has ended: what a
 * blocking send waits for (A2A's blocking sends return at terminal and interrupted states).
 */
export async function untilInterrupted(updates: AsyncGenerator<TreeUpdate>): Promise<void> {
  for await (const update of updates) if (update.state === STATE.inputRequired) return;
}
