import { collectDefaultMetrics, Registry } from 'prom-client';

/** What one generation of the plugin offers the process-wide parts (cluster answers, reload counts). */
export interface GenerationMetrics {
  /** The generation's own registry (counters reset when a reload builds a new one). */
  readonly registry: Registry;
  /** Set once the generation's setup finished. */
  live: boolean;
}

/**
 * State that outlives a generation: hot reload re-imports this plugin's files, so it lives on
 * `globalThis` under a registered symbol, made once per process.
 */
export interface ProcessState {
  /** Node and process metrics (`collectDefaultMetrics`), registered once per process. */
  readonly processRegistry: Registry;
  /** Generations set up and not disposed yet, oldest first. */
  readonly generations: GenerationMetrics[];
  /** Plugin reloads swapped in, and reload failures seen (by `file` and `at`), since the process started. */
  reloads: number;
  readonly failuresSeen: Set<string>;
  readonly failures: Record<string, number>;
  /** Whether the cluster gather listener is installed (once per process). */
  gatherListening: boolean;
}

const KEY = Symbol.for('apflow.metrics.process-state');

/** This process's metrics state, created on first use. */
export function processState(withProcessMetrics: boolean): ProcessState {
  // A process-wide slot of globalThis (which has no type for it): only this function uses it.
  const holder = globalThis as { [KEY]?: ProcessState };
  let state = holder[KEY];
  if (!state) {
    const processRegistry = new Registry();
    state = {
      processRegistry,
      generations: [],
      reloads: 0,
      failuresSeen: new Set(),
      failures: {},
      gatherListening: false,
    };
    holder[KEY] = state;
  }
  // Default metrics register once per registry; asking again (a reload) would throw "already registered".
  if (withProcessMetrics && state.processRegistry.getMetricsAsArray().length === 0) {
    collectDefaultMetrics({ register: state.processRegistry });
  }
  return state;
}

/** The newest live generation (the one serving requests), if any. */
export function currentGeneration(state: ProcessState): GenerationMetrics | undefined {
  for (let i = state.generations.length - 1; i >= 0; i--) {
    const generation = state.generations[i];
    if (generation?.live) return generation;
  }
  return undefined;
}
