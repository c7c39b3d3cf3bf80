import type { UsageReport } from './usage-types.ts';

/** A model's price: US dollars per million input and output tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** A price table: `provider/model` → its price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * The prices apflow ships (USD per million tokens): the providers' published list prices for
 * standard (not batch, not cached) calls as of 2025-06. Prices change: set `usage.prices` in the
 * config to correct or extend them (docs/configuration.md).
 */
export const DEFAULT_PRICES: PriceTable = {
  'openai/gpt-4o': { input: 2.5, output: 10 },
  'openai/gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai/gpt-4.1': { input: 2, output: 8 },
  'openai/gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai/gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai/o3': { input: 2, output: 8 },
  'openai/o3-mini': { input: 1.1, output: 4.4 },
  'openai/o4-mini': { input: 1.1, output: 4.4 },
  'openai/gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'anthropic/claude-opus-4': { input: 15, output: 75 },
  'anthropic/claude-sonnet-4': { input: 3, output: 15 },
  'anthropic/claude-3-7-sonnet': { input: 3, output: 15 },
  'anthropic/claude-3-5-sonnet': { input: 3, output: 15 },
  'anthropic/claude-3-5-haiku': { input: 0.8, output: 4 },
  'anthropic/claude-3-haiku': { input: 0.25, output: 1.25 },
  'google/gemini-2.5-pro': { input: 1.25, output: 10 },
  'google/gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'google/gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'google/gemini-1.5-pro': { input: 1.25, output: 5 },
  'google/gemini-1.5-flash': { input: 0.075, output: 0.3 },
  'mistral/mistral-large': { input: 2, output: 6 },
  'mistral/mistral-small': { input: 0.1, output: 0.3 },
  'groq/llama-3.1-8b-instant': { input: 0.05, output: 0.08 },
  'groq/llama-3.3-70b-versatile': { input: 0.59, output: 0.79 },
  'deepseek/deepseek-chat': { input: 0.27, output: 1.1 },
  'deepseek/deepseek-reasoner': { input: 0.55, output: 2.19 },
};

/**
 * The price of `provider`'s `model`: the table's entry for exactly `provider/model`, else the
 * longest entry the model's name continues with a `-` (`gpt-4o-2024-08-06` is priced as
 * `gpt-4o`, `claude-3-5-haiku-latest` as `claude-3-5-haiku`); undefined when none fits.
 */
export function priceOf(table: PriceTable, provider: string, model: string): ModelPrice | undefined {
  const exact = table[`${provider}/${model}`];
  if (exact) return exact;
  let best: [string, ModelPrice] | undefined;
  for (const [key, price] of Object.entries(table)) {
    const prefix = `${provider}/`;
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (model.startsWith(`${name}-`) && (!best || name.length > best[0].length)) best = [name, price];
  }
  return best?.[1];
}

/** What a call of `tokens` costs at `price` (USD), rounded to a millionth of a dollar's tenth. */
export function costOf(price: ModelPrice | undefined, tokens: Pick<UsageReport, 'input_tokens' | 'output_tokens'>) {
  if (!price) return null;
  const cost = (tokens.input_tokens * price.input + tokens.output_tokens * price.output) / 1_000_000;
  return Math.round(cost * 1e9) / 1e9;
}
