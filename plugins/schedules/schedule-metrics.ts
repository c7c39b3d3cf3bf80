import type { KernelServices, PluginApp } from 'apflow';
import type { FireRow } from './schedule-row.ts';

/** Buckets of fire delays (seconds late), from a few milliseconds to a missed minute. */
const DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The schedules plugin's metrics, kept by the metrics plugin when it is loaded (asked for at each
 * count: services are looked up at run time, and a reload brings a new registry).
 */
export function createScheduleMetrics(app: Pick<PluginApp, 'service' | 'log'>) {
  // Counting never stops a fire: a metric that cannot be kept is logged.
  const service = () => {
    const metrics = app.service('metrics');
    return metrics && guarded(metrics, app);
  };
  return {
    /** A fire ended up started, skipped (overlap) or failed. */
    fired(fire: FireRow, outcome: 'started' | 'skipped' | 'failed'): void {
      const metrics = service();
      if (!metrics) return;
      metrics
        .counter('apflow_schedule_fires_total', 'Schedule fires, by kind and outcome', ['kind', 'outcome'])
        .inc({ kind: fire.kind, outcome });
      if (outcome === 'skipped')
        metrics
          .counter('apflow_schedule_skips_total', "Fires skipped because the schedule's previous run had not ended")
          .inc({});
    },
    /** Due times that did not fire (catch_up `none` or `one` after downtime, or past the `all` bound). */
    missed(count: number): void {
      if (count > 0)
        service()
          ?.counter('apflow_schedule_misses_total', 'Due times of schedules that did not fire (catch_up)')
          .inc({}, count);
    },
    /** How late a fire was claimed after its due time. */
    delay(fire: FireRow, claimedMs: number): void {
      if (fire.kind !== 'scheduled') return;
      service()
        ?.histogram(
          'apflow_schedule_fire_delay_seconds',
          'Seconds from a due time to its fire being claimed',
          DELAY_BUCKETS,
        )
        .observe({}, Math.max(0, claimedMs - Date.parse(fire.fire_at)) / 1000);
    },
  };
}

/** The schedules plugin's metrics. */
export type ScheduleMetrics = ReturnType<typeof createScheduleMetrics>;

/** The metrics service with its registrations guarded: a failure is logged, never thrown. */
function guarded(metrics: KernelServices['metrics'], app: Pick<PluginApp, 'log'>): KernelServices['metrics'] {
  const safe = <T extends object>(make: () => T, fallback: T): T => {
    try {
      return make();
    } catch (error) {
      app.log.warn({ err: error }, 'a schedules metric could not be registered');
      return fallback;
    }
  };
  return {
    eventsDropped: (channel, count) => metrics.eventsDropped(channel, count),
    counter: (...args) => safe(() => metrics.counter(...args), { inc: () => undefined }),
    histogram: (...args) => safe(() => metrics.histogram(...args), { observe: () => undefined }),
  };
}
