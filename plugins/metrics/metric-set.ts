import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Latency buckets of HTTP requests, in seconds. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets of executor runs, in seconds (tasks range from a millisecond to many minutes). */
const TASK_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** What the gauges read when they are scraped. */
export interface GaugeSources {
  runningTasks(): number;
  runningTrees(): number;
  /** Stored tasks whose status is `pending` (the whole database). */
  pendingTasks(): Promise<number>;
  /** Ready tasks waiting for a slot on any engine (the whole database). */
  queueDepth(): Promise<number>;
  subscribers(channel: string): number;
  channels(): readonly string[];
  /** Plugin reloads swapped in since the process started. */
  reloads(): number;
  /** Reload errors listed now, and every failure seen since the process started, by kind (`plugin`, `executor`). */
  reloadErrors(): Promise<{ listed: number; totals: Record<string, number> }>;
}

/**
 * The plugin's metrics, registered in one generation's `registry`. Label values are bounded
 * sets (route patterns, HTTP methods, codes, executor ids, statuses), never URLs or ids.
 */
export function createMetricSet(registry: Registry, sources: GaugeSources) {
  const registers = [registry];
  // Reload counts live in the process state (they outlive generations); these counters catch up.
  let reloadsReported = 0;
  const failuresReported = new Map<string, number>();
  return {
    httpRequests: new Counter({
      name: 'apflow_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'apflow_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern and method',
      labelNames: ['route', 'method'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    rpcCalls: new Counter({
      name: 'apflow_jsonrpc_calls_total',
      help: 'JSON-RPC calls over HTTP, by endpoint, method and code (0 for a result, else the JSON-RPC error code)',
      labelNames: ['endpoint', 'method', 'code'],
      registers,
    }),
    taskTransitions: new Counter({
      name: 'apflow_task_transitions_total',
      help: 'Task status transitions (from, to) announced by the engine of this process',
      labelNames: ['from', 'to'],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'apflow_task_duration_seconds',
      help: 'Executor runs, by executor id and outcome (completed or failed)',
      labelNames: ['executor', 'outcome'],
      buckets: TASK_BUCKETS,
      registers,
    }),
    eventsDropped: new Counter({
      name: 'apflow_stream_events_dropped_total',
      help: 'Task events a stream could not deliver (reported by stream plugins through the metrics service)',
      labelNames: ['channel'],
      registers,
    }),
    llmTokens: new Counter({
      name: 'apflow_llm_tokens_total',
      help: 'Tokens of the LLM calls executors reported, by provider, model and type (input or output)',
      labelNames: ['provider', 'model', 'type'],
      registers,
    }),
    llmCost: new Counter({
      name: 'apflow_llm_cost_usd_total',
      help: 'Cost in US dollars of the LLM calls executors reported, by provider and model (calls of unpriced models add nothing)',
      labelNames: ['provider', 'model'],
      registers,
    }),
    runningTasks: new Gauge({
      name: 'apflow_tasks_running',
      help: 'Tasks whose executors run now',
      registers,
      collect() {
        this.set(sources.runningTasks());
      },
    }),
    runningTrees: new Gauge({
      name: 'apflow_trees_running',
      help: 'Task trees this server runs now',
      registers,
      collect() {
        this.set(sources.runningTrees());
      },
    }),
    pendingTasks: new Gauge({
      name: 'apflow_tasks_pending',
      help: 'Stored tasks waiting to run (status pending, whole database)',
      // Every worker reads the same database: across workers, one value, not the sum.
      aggregator: 'max',
      registers,
      async collect() {
        this.set(await sources.pendingTasks());
      },
    }),
    queueDepth: new Gauge({
      name: 'apflow_queue_depth',
      help: 'Ready tasks waiting for a free slot (engine.concurrency, per-user and cluster limits), whole database',
      // Every worker reads the same database: across workers, one value, not the sum.
      aggregator: 'max',
      registers,
      async collect() {
        this.set(await sources.queueDepth());
      },
    }),
    subscribers: new Gauge({
      name: 'apflow_stream_subscribers',
      help: 'Open event streams, by channel (sse, websocket)',
      labelNames: ['channel'],
      registers,
      collect() {
        for (const channel of sources.channels()) this.set({ channel }, sources.subscribers(channel));
      },
    }),
    reloads: new Counter({
      name: 'apflow_plugin_reloads_total',
      help: 'Plugin hot reloads swapped in since the process started',
      registers,
      collect() {
        // The process keeps the total; this generation's counter catches up to it.
        const total = sources.reloads();
        if (total > reloadsReported) this.inc(total - reloadsReported);
        reloadsReported = total;
      },
    }),
    reloadFailures: new Counter({
      name: 'apflow_plugin_reload_failures_total',
      help: 'Hot reloads that failed (kind: plugin, or executor for an executor file), seen since the process started',
      labelNames: ['kind'],
      registers,
      async collect() {
        const { totals } = await sources.reloadErrors();
        for (const [kind, total] of Object.entries(totals)) {
          const reported = failuresReported.get(kind) ?? 0;
          if (total > reported) this.inc({ kind }, total - reported);
          failuresReported.set(kind, total);
        }
      },
    }),
    reloadErrors: new Gauge({
      name: 'apflow_reload_errors',
      help: 'Reload errors listed in /health now (a plugin or executor file that failed to load)',
      aggregator: 'max',
      registers,
      async collect() {
        this.set((await sources.reloadErrors()).listed);
      },
    }),
  };
}

/** The metrics of one generation. */
export type MetricSet = ReturnType<typeof createMetricSet>;
