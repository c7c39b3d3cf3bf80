import { answerClusterGather, gatherCluster } from 'apflow';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { currentGeneration, type ProcessState } from './process-state.ts';

/** One process's metrics, as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const TOPIC = 'metrics';

/**
 * Answers the primary's gather asks for `metrics` with this process's metrics (the current
 * generation's plus the process ones). Installed once per process.
 */
export function answerGathers(state: ProcessState): void {
  if (state.gatherListening) return;
  state.gatherListening = true;
  answerClusterGather(TOPIC, () => ownMetrics(state).catch((): MetricsJson => []));
}

/** This process's metrics as JSON. */
export async function ownMetrics(state: ProcessState): Promise<MetricsJson> {
  const generation = currentGeneration(state);
  const own = generation ? await generation.registry.getMetricsAsJSON() : [];
  return [...(await state.processRegistry.getMetricsAsJSON()), ...own];
}

/**
 * Asks the primary for every worker's metrics (kernel/cli/cluster.ts relays the ask and
 * gathers the answers). Resolves with one entry per worker that answered within `timeoutMs`.
 */
export async function gatherWorkers(timeoutMs: number): Promise<MetricsJson[]> {
  // Each answer is what answerGathers sent: ownMetrics of one worker.
  return (await gatherCluster(TOPIC, timeoutMs)) as MetricsJson[];
}
