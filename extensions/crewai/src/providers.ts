import type { LanguageModel } from 'ai';
import { ApflowError, detectProvider, loadOnce } from 'apflow';

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

/** What a provider's model is made with: the key and, when configured, the address. */
interface ProviderSettings {
  apiKey: string;
  baseURL?: string;
}

/** Makes a model of one provider. */
type MakeModel = (modelId: string, settings: ProviderSettings) => LanguageModel;

// Each provider's package loads when its first model is opened, not at start (start-up cost).
const PROVIDERS = new Map<string, () => Promise<MakeModel>>(
  Object.entries({
    openai: loadOnce(async () => {
      const { createOpenAI } = await import('@ai-sdk/openai');
      // Chat completions, not the Responses API: it is what OpenAI-compatible servers (vLLM, Ollama…) speak.
      return (modelId, settings) => createOpenAI(settings).chat(modelId);
    }),
    anthropic: loadOnce(async () => {
      const { createAnthropic } = await import('@ai-sdk/anthropic');
      return (modelId, settings) => createAnthropic(settings)(modelId);
    }),
    google: loadOnce(async () => {
      const { createGoogleGenerativeAI } = await import('@ai-sdk/google');
      return (modelId, settings) => createGoogleGenerativeAI(settings)(modelId);
    }),
    mistral: loadOnce(async () => {
      const { createMistral } = await import('@ai-sdk/mistral');
      return (modelId, settings) => createMistral(settings)(modelId);
    }),
    groq: loadOnce(async () => {
      const { createGroq } = await import('@ai-sdk/groq');
      return (modelId, settings) => createGroq(settings)(modelId);
    }),
  }),
);

const loadCompatible = loadOnce(async () => (await import('@ai-sdk/openai-compatible')).createOpenAICompatible);

/**
 * What makes the AI SDK model for `ref` from a key, talking to `baseUrl` when given (config
 * `llm.providers.<provider>.base_url`), else the provider's own address. Loads the provider's
 * package (only that one) on its first use; rejects with APF_INVALID_PARAMS for a provider
 * without a known address.
 */
export async function loadModelFactory(
  ref: ModelRef,
  baseUrl: string | undefined,
): Promise<(apiKey: string | undefined) => LanguageModel> {
  const own = PROVIDERS.get(ref.provider);
  if (own) {
    const make = await own();
    return (apiKey) => make(ref.modelId, { apiKey: apiKey ?? '', ...(baseUrl ? { baseURL: baseUrl } : {}) });
  }
  const url = baseUrl ?? COMPATIBLE_BASE_URLS[ref.provider];
  if (!url) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `LLM provider '${ref.provider}' has no known address: set llm.providers.${ref.provider}.base_url to its OpenAI-compatible API`,
    });
  }
  const createOpenAICompatible = await loadCompatible();
  return (apiKey) => createOpenAICompatible({ name: ref.provider, baseURL: url, apiKey }).chatModel(ref.modelId);
}
