import type { PluginApp } from 'apflow';
import type { QuotaReason } from './budgets.ts';

/**
 * The quotas plugin's counters, kept by the metrics plugin when it is loaded (asked for at each
 * count: services are looked up at run time, and a reload brings a new registry). A counter that
 * cannot be kept is logged: counting never changes what a run gets.
 */
export function createQuotaMetrics(app: Pick<PluginApp, 'service' | 'log'>) {
  const count = (name: string, help: string, reason: QuotaReason) => {
    try {
      app.service('metrics')?.counter(name, help, ['reason']).inc({ reason });
    } catch (error) {
      app.log.warn({ err: error }, 'a quotas metric could not be kept');
    }
  };
  return {
    /** A run start or a task refused for `reason`. */
    refused: (reason: QuotaReason) =>
      count('apflow_quota_refusals_total', 'Runs and tasks refused over a daily quota, by budget', reason),
    /** A run switched to demo mode for `reason` (`over_limit: demo`). */
    demo: (reason: QuotaReason) =>
      count('apflow_quota_demo_runs_total', 'Runs switched to demo mode over a daily quota, by budget', reason),
  };
}

/** The quotas plugin's counters. */
export type QuotaMetrics = ReturnType<typeof createQuotaMetrics>;
