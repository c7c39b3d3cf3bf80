import type { StreamResponse } from '@a2a-js/sdk';
import type { PluginApp, TaskEvent } from 'apflow';
import type { A2aTaskRow } from './a2a-store.ts';
import { artifactUpdate, statusUpdate, STATE, treeState } from './task-view.ts';

/** One update, the seq of the event it tells of, and whether it is that event's last update. */
export interface TreeUpdate {
  response: StreamResponse;
  seq: number;
  last: boolean;
}

/**
 * The A2A updates of a task's tree from event `after` on: a `working` status update for each
 * event (the event as a data part), and at the tree's `final` event the result artifact (when
 * it completed) and the terminal status update; then it ends. Stopping early (the client left,
 * or `signal` aborted while waiting for the next event) stops following the tree.
 */
export async function* treeUpdates(
  app: PluginApp,
  row: A2aTaskRow,
  rootId: string,
  after: number,
  signal?: AbortSignal,
): AsyncGenerator<TreeUpdate> {
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
        yield {
          response: { payload: { $case: 'statusUpdate', value: statusUpdate(row, STATE.working, event) } },
          seq: event.seq,
          last: true,
        };
        continue;
      }
      const root = await app.tasks.get(rootId);
      if (root?.status === 'completed')
        yield {
          response: { payload: { $case: 'artifactUpdate', value: artifactUpdate(row, root) } },
          seq: event.seq,
          last: false,
        };
      yield {
        response: {
          payload: { $case: 'statusUpdate', value: statusUpdate(row, root ? treeState(root) : STATE.failed, event) },
        },
        seq: event.seq,
        last: true,
      };
      return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    following.stop();
  }
}
