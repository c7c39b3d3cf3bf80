import { ApflowError } from '../errors/apflow-error.ts';
import { detectProvider } from '../executors/detect-provider.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { Logger } from '../internal/logger.ts';
import { costOf, priceOf, type PriceTable } from './prices.ts';
import type { UsageLedger } from './usage-ledger.ts';
import type { UsageRecord, UsageReport } from './usage-types.ts';

/** The task a call was made for. */
interface UsageTask {
  id: string;
  root_id: string;
  user_id: string | null;
}

/**
 * Records the LLM calls executors report: checks each report, prices it with the price table,
 * stores it in the ledger and tells the `usage` hook (metrics, quotas, traces).
 */
export function createUsageRecorder(options: {
  ledger: UsageLedger;
  prices: () => PriceTable;
  hooks: () => Hooks;
  log: Logger;
}) {
  return {
    /** The priced record of `report` for `task`; throws APF_INVALID_PARAMS naming what is wrong with it. */
    recordOf(task: UsageTask, report: UsageReport): UsageRecord {
      const problem = reportProblem(report);
      if (problem) throw new ApflowError('APF_INVALID_PARAMS', { message: `ctx.usage: ${problem}` });
      const named = report.model.trim();
      const provider = (report.provider?.trim() || detectProvider(named)).toLowerCase();
      const model = named.toLowerCase().startsWith(`${provider}/`) ? named.slice(provider.length + 1) : named;
      return {
        task_id: task.id,
        root_task_id: task.root_id,
        user_id: task.user_id,
        provider,
        model,
        input_tokens: report.input_tokens,
        output_tokens: report.output_tokens,
        cost_usd: costOf(priceOf(options.prices(), provider, model), report),
        at: new Date().toISOString(),
      };
    },
    /** Stores `record`, then calls the `usage` hook (a tap that throws is logged, not passed on). */
    async store(record: UsageRecord): Promise<void> {
      await options.ledger.record([record]);
      try {
        options.hooks().usage.call(record);
      } catch (error) {
        options.log.error({ err: error }, 'a usage tap threw; it must not');
      }
    },
  };
}

/** What the usage recorder does. */
export type UsageRecorder = ReturnType<typeof createUsageRecorder>;

const isCount = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function reportProblem(report: UsageReport): string | undefined {
  if (typeof report !== 'object' || report === null) return 'expects { model, input_tokens, output_tokens }';
  if (typeof report.model !== 'string' || !report.model.trim() || report.model.length > 255)
    return 'model must be a model name of 1 to 255 characters';
  if (report.provider !== undefined && (typeof report.provider !== 'string' || report.provider.length > 64))
    return 'provider must be a name of at most 64 characters';
  for (const key of ['input_tokens', 'output_tokens'] as const)
    if (!isCount(report[key])) return `${key} must be a whole number of tokens, 0 or more (got ${String(report[key])})`;
  return undefined;
}
