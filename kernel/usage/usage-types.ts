/** One LLM call's tokens, as an executor reports it with `ctx.usage(…)`. */
export interface UsageReport {
  /** `openai`, `anthropic`, … (detected from the model when absent). */
  provider?: string;
  /** The model's name (`gpt-4o-mini`, `openai/gpt-4o-mini`). */
  model: string;
  input_tokens: number;
  output_tokens: number;
}

/** One LLM call as recorded in the ledger, priced: what the `usage` hook hears. */
export interface UsageRecord {
  task_id: string;
  root_task_id: string;
  user_id: string | null;
  provider: string;
  /** The model without its `provider/` prefix. */
  model: string;
  input_tokens: number;
  output_tokens: number;
  /** Its price by the price table (USD), or null when the table has no price for the model. */
  cost_usd: number | null;
  /** When it was recorded (ISO-8601). */
  at: string;
}

/** Tokens and cost of some calls of one model. */
export interface ModelUsage {
  input: number;
  output: number;
  total: number;
  calls: number;
  /** USD; null when no call of it had a known price. */
  cost_usd: number | null;
}

/**
 * Tokens and cost of some LLM calls (a task's, a tree's, a user's day), in total and per model
 * (keyed `provider/model`). `cost_usd` sums the calls with a known price; null when none had one.
 */
export interface TokenUsage extends ModelUsage {
  by_model: Record<string, ModelUsage>;
}

/** One user's usage on one day (UTC), as `tasks.usage` answers it. */
export interface UsageDay extends TokenUsage {
  user_id: string | null;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
}
