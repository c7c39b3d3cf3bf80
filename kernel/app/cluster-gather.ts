import cluster from 'node:cluster';

type Ask = { type: 'apflow:gather:ask'; id: string; topic: string };
type Result = { type: 'apflow:gather:result'; id: string; values: unknown[] };

/** True in a `--workers N` worker, where a report about the server must cover every worker. */
export const inCluster = (): boolean => cluster.isWorker && typeof process.send === 'function';

const answering = new Map<string, () => Promise<unknown>>();
let installed = false;

/**
 * Answers the cluster primary's gather asks for `topic` with `answer()` (the latest function set
 * for a topic wins: a reloaded plugin replaces its answer). Does nothing outside a cluster.
 * Returns the function that stops answering.
 */
export function answerClusterGather(topic: string, answer: () => Promise<unknown>): () => void {
  if (!inCluster()) return () => undefined;
  answering.set(topic, answer);
  if (!installed) {
    installed = true;
    process.on('message', (message: Ask) => {
      if (message?.type !== 'apflow:gather:ask') return;
      const answer = answering.get(message.topic);
      if (!answer) return;
      void answer()
        .catch(() => null)
        .then((value) => process.send?.({ type: 'apflow:gather:answer', id: message.id, value }));
    });
  }
  return () => {
    if (answering.get(topic) === answer) answering.delete(topic);
  };
}

let counter = 0;

/**
 * Asks every worker of the cluster (this one included) for `topic` through the primary
 * (kernel/cli/cluster.ts relays the ask and gathers the answers). Resolves with one value per
 * worker that answered within `timeoutMs`.
 */
export function gatherCluster(topic: string, timeoutMs: number): Promise<unknown[]> {
  const id = `${process.pid}-${++counter}`;
  return new Promise((resolve) => {
    const onMessage = (message: Result) => {
      if (message?.type !== 'apflow:gather:result' || message.id !== id) return;
      finish(message.values);
    };
    // The primary answers after `timeoutMs` at the latest; this is for a primary that is gone.
    const timer = setTimeout(() => finish([]), timeoutMs + 1000);
    const finish = (values: unknown[]) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(values);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'apflow:gather', id, topic, timeout_ms: timeoutMs });
  });
}
