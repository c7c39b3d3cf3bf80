import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { definePlugin, Type, version, type PluginApp, inCluster } from 'apflow';
import { answerGathers, gatherWorkers, ownMetrics } from './cluster-gather.ts';
import { observeHttp, type StreamCounts } from './http-observer.ts';
import { createMetricSet } from './metric-set.ts';
import { processState, type GenerationMetrics, type ProcessState } from './process-state.ts';
import { createScrapeAccess } from './scrape-access.ts';
import { observeTasks } from './task-observer.ts';
import { observeUsage } from './usage-observer.ts';

/** What the metrics plugin offers other plugins (`app.service('metrics')`). */
export interface MetricsService {
  /** Counts task events a stream of `channel` (`sse`, `websocket`, `webhooks`…) could not deliver. */
  eventsDropped(channel: string, count?: number): void;
  /**
   * Another plugin's counter (`apflow_…_total`), registered on first use in this generation and
   * the same object after. Label values must be bounded sets, never ids.
   */
  counter(name: string, help: string, labelNames?: readonly string[]): PluginCounter;
  /** Another plugin's histogram (`apflow_…`), registered on first use in this generation. */
  histogram(name: string, help: string, buckets: readonly number[], labelNames?: readonly string[]): PluginHistogram;
}

/** A counter another plugin registered. */
export interface PluginCounter {
  inc(labels: Record<string, string>, value?: number): void;
}

/** A histogram another plugin registered. */
export interface PluginHistogram {
  observe(labels: Record<string, string>, value: number): void;
}

declare module 'apflow' {
  interface KernelServices {
    metrics: MetricsService;
  }
}

const Settings = Type.Object(
  {
    path: Type.String({ default: '/metrics', pattern: '^/' }),
    process_metrics: Type.Boolean({ default: true }),
    cluster_timeout_ms: Type.Integer({ default: 2000, minimum: 1, maximum: 10_000 }),
    token: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false, default: {} },
);

const CHANNEL = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Prometheus metrics at `GET /metrics`: HTTP requests, JSON-RPC calls, task transitions and run
 * times, running tasks and trees, pending tasks, open streams, reloads, and Node's own metrics;
 * observed through hook interceptors and Fastify hooks. With `--workers N`, one scrape shows
 * the sum over every worker. With authentication on (or `metrics.token` set), a scrape needs an
 * administrator's token or the scrape token.
 */
export default definePlugin({
  name: 'metrics',
  version,
  config: { key: 'metrics', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const access = createScrapeAccess(app, settings.token);
    const state = processState(settings.process_metrics);
    const registry = new Registry();
    const generation: GenerationMetrics = { registry, live: false };
    const streams: StreamCounts = new Map([
      ['sse', 0],
      ['websocket', 0],
    ]);
    const metrics = createMetricSet(registry, {
      runningTasks: () => app.engine.runningCount(),
      runningTrees: () => app.engine.runningRoots().length,
      pendingTasks: async () => (await app.tasks.count({ root_only: false })).pending ?? 0,
      queueDepth: () => app.engine.queueDepth(),
      channels: () => [...streams.keys()],
      subscribers: (channel) => streams.get(channel) ?? 0,
      reloads: () => state.reloads,
      reloadErrors: () => readReloadErrors(app, state),
    });
    observeHttp(app, metrics, streams);
    observeTasks(app, metrics, taskStatuses());
    observeUsage(app, metrics, new Set());
    app.provide('metrics', {
      eventsDropped(channel, count = 1) {
        if (count > 0) metrics.eventsDropped.inc({ channel: CHANNEL.test(channel) ? channel : 'other' }, count);
      },
      counter(name, help, labelNames = []) {
        const found = pluginMetric(registry, name);
        if (found instanceof Counter) return found;
        if (found) throw new Error(`the metric ${name} is registered, not as a counter`);
        return new Counter({ name, help, labelNames, registers: [registry] });
      },
      histogram(name, help, buckets, labelNames = []) {
        const found = pluginMetric(registry, name);
        if (found instanceof Histogram) return found;
        if (found) throw new Error(`the metric ${name} is registered, not as a histogram`);
        return new Histogram({ name, help, buckets: [...buckets], labelNames, registers: [registry] });
      },
    });

    app.http.get(settings.path, { config: { credential: access.credential } }, async (request, reply) => {
      access.check(request);
      let text: string;
      if (inCluster()) {
        const workers = await gatherWorkers(settings.cluster_timeout_ms);
        text = await AggregatorRegistry.aggregate(workers.length > 0 ? workers : [await ownMetrics(state)]).metrics();
      } else {
        text = await Registry.merge([state.processRegistry, registry]).metrics();
      }
      return reply.header('content-type', registry.contentType).send(text);
    });

    state.generations.push(generation);
    generation.live = true;
    answerGathers(state);
    // A newer generation set up by the time this one closes means a reload swapped it in.
    app.onClosing(() => {
      const index = state.generations.indexOf(generation);
      if (index >= 0 && index < state.generations.length - 1) state.reloads++;
    });
    return () => {
      generation.live = false;
      const index = state.generations.indexOf(generation);
      if (index >= 0) state.generations.splice(index, 1);
    };
  },
});

/** Reload errors listed now; counts each failure (by file and time) once per process. */
async function readReloadErrors(app: PluginApp, state: ProcessState) {
  const listed = (await app.health()).reload_errors;
  for (const error of listed) {
    const key = `${error.file}\0${error.at}`;
    if (state.failuresSeen.has(key)) continue;
    state.failuresSeen.add(key);
    const kind = error.file === 'plugins' ? 'plugin' : 'executor';
    state.failures[kind] = (state.failures[kind] ?? 0) + 1;
  }
  return { listed: listed.length, totals: { ...state.failures } };
}

const STATUSES = Symbol.for('apflow.metrics.task-statuses');

/** The last status of each unfinished task, shared by the generations of this process. */
function taskStatuses(): Map<string, string> {
  // A process-wide slot of globalThis (which has no type for it): only this function uses it.
  const holder = globalThis as { [STATUSES]?: Map<string, string> };
  return (holder[STATUSES] ??= new Map());
}

/** Another plugin's metric `name` in `registry` (named apflow_…), if registered. */
function pluginMetric(registry: Registry, name: string) {
  if (!name.startsWith('apflow_')) throw new Error(`a plugin metric's name must start with apflow_ (got ${name})`);
  return registry.getSingleMetric(name);
}
