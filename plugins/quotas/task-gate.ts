import type { PluginApp, TaskRunContext } from 'apflow';
import { overSpend, quotaError, utcDay } from './budgets.ts';
import type { QuotaMetrics } from './quota-metrics.ts';
import type { QuotaStore } from './quota-store.ts';
import type { QuotasConfig } from './settings.ts';

/**
 * The `taskRun` tap of the token and dollar budgets: a run that began under budget stops starting
 * new tasks once its owner's day is spent (a long run cannot spend far past it; a call in flight
 * finishes). Demo runs and runs an exempt caller started go on.
 */
export function createTaskGate(
  app: Pick<PluginApp, 'usage' | 'tasks'>,
  settings: QuotasConfig,
  store: QuotaStore,
  metrics: QuotaMetrics,
) {
  return async (run: TaskRunContext): Promise<TaskRunContext> => {
    if (run.phase !== 'before' || run.refuse || run.result !== undefined) return run;
    if (run.user_id === null && settings.anonymous === 'exempt') return run;
    const over = await overSpend(app, settings, run.user_id, utcDay());
    if (!over) return run;
    // Read only once over: most tasks never need these.
    if ((await app.tasks.get(run.task_id))?.run_demo) return run;
    if (await store.isExempt(run.root_task_id)) return run;
    metrics.refused(over.reason);
    return { ...run, refuse: quotaError(over) };
  };
}
