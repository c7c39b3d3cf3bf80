import cluster from 'node:cluster';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { currentGeneration, type ProcessState } from './process-state.ts';

/** One process's metrics, as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const TOPIC = 'metrics';

type Ask = { type: 'apflow:gather:ask'; id: string; topic: string };
type Result = { type: 'apflow:gather:result'; id: string; values: unknown[] };

/** True in a `--workers N` worker, where one scrape must show every worker. */
export const inCluster = (): boolean => cluster.isWorker && typeof process.send === 'function';

/**
 * Answers the primary's gather asks for `metrics` with this process's metrics (the current
 * generation's plus the process ones). Installed once per process.
 */
export function answerGathers(state: ProcessState): void {
  if (state.gatherListening || !inCluster()) return;
  state.gatherListening = true;
  process.on('message', (message: Ask) => {
    if (message?.type !== 'apflow:gather:ask' || message.topic !== TOPIC) return;
    void ownMetrics(state)
      .catch(() => [] as MetricsJson)
      .then((value) => process.send?.({ type: 'apflow:gather:answer', id: message.id, value }));
  });
}

/** This process's metrics as JSON. */
export async function ownMetrics(state: ProcessState): Promise<MetricsJson> {
  const generation = currentGeneration(state);
  const own = generation ? await generation.registry.getMetricsAsJSON() : [];
  return [...(await state.processRegistry.getMetricsAsJSON()), ...own] as MetricsJson;
}

let counter = 0;

/**
 * Asks the primary for every worker's metrics (kernel/cli/cluster.ts relays the ask and
 * gathers the answers). Resolves with one entry per worker that answered within `timeoutMs`.
 */
export function gatherWorkers(timeoutMs: number): Promise<MetricsJson[]> {
  const id = `${process.pid}-${++counter}`;
  return new Promise((resolve) => {
    const onMessage = (message: Result) => {
      if (message?.type !== 'apflow:gather:result' || message.id !== id) return;
      finish(message.values as MetricsJson[]);
    };
    // The primary answers after `timeoutMs` at the latest; this is for a primary that is gone.
    const timer = setTimeout(() => finish([]), timeoutMs + 1000);
    const finish = (values: MetricsJson[]) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(values);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'apflow:gather', id, topic: TOPIC, timeout_ms: timeoutMs });
  });
}
