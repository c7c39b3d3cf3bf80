import type { LanguageModelUsage } from 'ai';

/** Token counts as the original reports them (CrewAI's `UsageMetrics`). */
export interface TokenUsage {
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_prompt_tokens: number;
  successful_requests: number;
}

/** All zeros. */
export const noUsage = (): TokenUsage => ({
  total_tokens: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_prompt_tokens: 0,
  successful_requests: 0,
});

/** The AI SDK's usage of `requests` successful model calls, in the original's shape. */
export function fromSdkUsage(usage: LanguageModelUsage, requests: number): TokenUsage {
  const prompt = usage.inputTokens ?? 0;
  const completion = usage.outputTokens ?? 0;
  return {
    total_tokens: usage.totalTokens ?? prompt + completion,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cached_prompt_tokens: usage.inputTokenDetails?.cacheReadTokens ?? usage.cachedInputTokens ?? 0,
    successful_requests: requests,
  };
}

/** Adds `more` into `total` (in place) and returns `total`. */
export function addUsage(total: TokenUsage, more: TokenUsage | undefined): TokenUsage {
  if (!more) return total;
  total.total_tokens += more.total_tokens;
  total.prompt_tokens += more.prompt_tokens;
  total.completion_tokens += more.completion_tokens;
  total.cached_prompt_tokens += more.cached_prompt_tokens;
  total.successful_requests += more.successful_requests;
  return total;
}
