import { definePlugin, version } from 'apflow';
import { migrations } from './migrations.ts';
import { createQuotaMetrics } from './quota-metrics.ts';
import { createQuotaStore } from './quota-store.ts';
import { checkQuotasConfig, QuotasSettings } from './settings.ts';
import { createStartGate } from './start-gate.ts';
import { mountStatusMethod } from './status-method.ts';
import { createTaskGate } from './task-gate.ts';

/**
 * Daily quotas per user (off by default): task trees started, LLM tokens and dollars. A run over
 * a budget is refused with 429 (JSON-RPC -32001) or, with `over_limit: demo`, runs in demo mode,
 * as the original's public demo did. Counted in the database, so every server shares the count.
 */
export default definePlugin({
  name: 'quotas',
  version,
  description: 'Daily quotas per user: task trees, LLM tokens and dollars; 429 or demo mode over them',
  config: { key: 'quotas', schema: QuotasSettings },
  migrations,
  setup(app) {
    const settings = app.settings;
    checkQuotasConfig(settings);
    const store = createQuotaStore(app.storage);
    mountStatusMethod(app, settings, store);
    if (!settings.enabled) return;
    const metrics = createQuotaMetrics(app);
    const gate = createStartGate(app, settings, store, metrics);
    app.hooks.runStart.tapPromise('quotas', gate.tap);
    if (settings.tokens_per_day === undefined && settings.cost_usd_per_day === undefined) return;
    app.hooks.taskRun.tapPromise('quotas', createTaskGate(app, settings, store, metrics));
    app.hooks.progress.tap('quotas', (event) => {
      if (event.type === 'final') gate.ended(event.root_task_id);
    });
  },
});
