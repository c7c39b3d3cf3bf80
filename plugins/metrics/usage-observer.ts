import type { PluginApp, UsageRecord } from 'apflow';
import type { MetricSet } from './metric-set.ts';

/** Distinct provider/model label pairs kept; later ones count as `other` (models are named by tasks). */
const MAX_MODELS = 100;

/**
 * Counts the tokens and dollars of every LLM call an executor reports (`ctx.usage`), through an
 * interceptor of the `usage` hook. `models` holds the label pairs seen by this generation's counters.
 */
export function observeUsage(app: PluginApp, metrics: MetricSet, models: Set<string>): void {
  app.hooks.usage.intercept({
    call: (record: UsageRecord) => {
      const pair = `${record.provider}/${record.model}`;
      if (!models.has(pair) && models.size < MAX_MODELS) models.add(pair);
      const labels = models.has(pair)
        ? { provider: record.provider, model: record.model }
        : { provider: 'other', model: 'other' };
      metrics.llmTokens.inc({ ...labels, type: 'input' }, record.input_tokens);
      metrics.llmTokens.inc({ ...labels, type: 'output' }, record.output_tokens);
      if (record.cost_usd !== null) metrics.llmCost.inc(labels, record.cost_usd);
    },
  });
}
