import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createGroq } from '@ai-sdk/groq';
import { createMistral } from '@ai-sdk/mistral';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { ApflowError, detectProvider } from 'apflow';

/** Providers that speak the OpenAI chat-completions API at a well-known address. */
const COMPATIBLE_BASE_URLS: Record<string, string> = {
  ollama: 'http://localhost:11434/v1',
  together: 'https://api.together.xyz/v1',
  deepinfra: 'https://api.deepinfra.com/v1/openai',
  openrouter: 'https://openrouter.ai/api/v1',
  xai: 'https://api.x.ai/v1',
  deepseek: 'https://api.deepseek.com/v1',
};

/** Providers that run without a key (local servers). */
export const KEYLESS_PROVIDERS = new Set(['ollama']);

/** A model name split into its provider and the id the provider's API knows. */
export interface ModelRef {
  provider: string;
  /** `gpt-4o-mini` for `openai/gpt-4o-mini`; names with an unknown prefix stay whole. */
  modelId: string;
}

/** The provider (by `detectProvider`) and provider-side id of `model`. */
export function parseModel(model: string): ModelRef {
  const trimmed = model.trim();
  const provider = detectProvider(trimmed);
  const slash = trimmed.indexOf('/');
  const prefix = slash > 0 ? trimmed.slice(0, slash).toLowerCase() : '';
  const known = prefix === provider || (prefix === 'gemini' && provider === 'google');
  return { provider, modelId: known ? trimmed.slice(slash + 1) : trimmed };
}

/**
 * The AI SDK model for `ref`, talking to `baseUrl` when given (config
 * `llm.providers.<provider>.base_url`), else the provider's own address.
 */
export function createModel(ref: ModelRef, apiKey: string | undefined, baseUrl: string | undefined): LanguageModel {
  const settings = { apiKey: apiKey ?? '', ...(baseUrl ? { baseURL: baseUrl } : {}) };
  switch (ref.provider) {
    case 'openai':
      // Chat completions, not the Responses API: it is what OpenAI-compatible servers (vLLM, Ollama…) speak.
      return createOpenAI(settings).chat(ref.modelId);
    case 'anthropic':
      return createAnthropic(settings)(ref.modelId);
    case 'google':
      return createGoogleGenerativeAI(settings)(ref.modelId);
    case 'mistral':
      return createMistral(settings)(ref.modelId);
    case 'groq':
      return createGroq(settings)(ref.modelId);
    default: {
      const url = baseUrl ?? COMPATIBLE_BASE_URLS[ref.provider];
      if (!url) {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `LLM provider '${ref.provider}' has no known address: set llm.providers.${ref.provider}.base_url to its OpenAI-compatible API`,
        });
      }
      return createOpenAICompatible({ name: ref.provider, baseURL: url, apiKey }).chatModel(ref.modelId);
    }
  }
}
