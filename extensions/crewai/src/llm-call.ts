import type { LanguageModel, LanguageModelUsage, ModelMessage, ToolSet } from 'ai';
import { ApflowError, tracingActive, type ExecutorContext, type Logger } from 'apflow';
import { loadAi } from './ai-sdk.ts';
import { KEYLESS_PROVIDERS, loadModelFactory, parseModel, type ModelRef } from './providers.ts';
import { scrubbedMessage } from './scrub.ts';
import { addUsage, fromSdkUsage, noUsage, type TokenUsage } from './token-usage.ts';

/** The plugin's config section `llm`. */
export interface LlmSettings {
  providers: Record<string, { base_url?: string } | undefined>;
}

/** A model ready to call, with the key it was made with (kept only to scrub it from errors). */
export interface OpenModel {
  ref: ModelRef;
  model: LanguageModel;
  key: string | undefined;
  /** Reports one request's tokens to apflow (`ctx.usage`: the task's and tree's usage, costs, quotas). */
  report: (usage: LanguageModelUsage) => void;
}

/** A model call that failed; its message has had the key scrubbed out. */
export class LlmCallError extends Error {
  constructor(
    message: string,
    /** Usage of the requests that succeeded before the failure. */
    readonly usage?: TokenUsage,
  ) {
    super(message);
    this.name = 'LlmCallError';
  }
}

/** The error for a provider without a key: names the provider and the three ways to give one. */
export function missingKeyError(provider: string): ApflowError {
  const env = `${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_API_KEY`;
  return new ApflowError('APF_UNAUTHENTICATED', {
    message: `No API key for LLM provider '${provider}': send one in the X-LLM-API-KEY header (e.g. '${provider}:<key>'), set it with config.llm_key.set, or set the ${env} environment variable`,
  });
}

/**
 * Resolves the key (through `ctx.resolveKey`) and builds the model named `name`, loading its
 * provider's package on first use.
 */
export async function openModel(name: string, ctx: ExecutorContext, settings: LlmSettings): Promise<OpenModel> {
  const ref = parseModel(name);
  const key = await ctx.resolveKey(ref.provider, name);
  if (!key && !KEYLESS_PROVIDERS.has(ref.provider)) throw missingKeyError(ref.provider);
  const createModel = await loadModelFactory(ref, settings.providers[ref.provider]?.base_url);
  try {
    const report = (usage: LanguageModelUsage) =>
      ctx.usage({
        provider: ref.provider,
        model: ref.modelId,
        input_tokens: usage.inputTokens ?? 0,
        output_tokens: usage.outputTokens ?? 0,
      });
    return { ref, model: createModel(key), key, report };
  } catch (error) {
    if (error instanceof ApflowError) throw error;
    throw new LlmCallError(scrubbedMessage(error, key));
  }
}

/** One generation: a prompt, optional tools (the model may call them for up to `maxSteps` rounds). */
export interface Generation {
  system?: string;
  messages: ModelMessage[];
  tools?: ToolSet;
  maxSteps?: number;
  temperature?: number;
  maxTokens?: number;
  /** System messages among `messages` are the caller's own choice (llm_executor), not injected text. */
  allowSystemInMessages?: boolean;
}

/**
 * Runs `generation` on `open`, aborted by `signal`. Resolves with the final text and the usage
 * summed over every request; rejects with the abort reason when aborted, else an {@link LlmCallError}
 * whose message never holds the key.
 */
export async function generate(
  open: OpenModel,
  generation: Generation,
  signal: AbortSignal,
  log?: Logger,
): Promise<{ text: string; usage: TokenUsage }> {
  const { generateText, stepCountIs } = await loadAi();
  const partial = noUsage();
  try {
    const result = await generateText({
      model: open.model,
      system: generation.system,
      messages: generation.messages,
      allowSystemInMessages: generation.allowSystemInMessages,
      tools: generation.tools,
      stopWhen: stepCountIs(generation.maxSteps ?? 1),
      temperature: generation.temperature,
      maxOutputTokens: generation.maxTokens,
      abortSignal: signal,
      // One span per model call under the task's executor span (model, provider, tokens), when
      // apflow's telemetry is on; prompts and answers are never recorded (they may hold secrets).
      experimental_telemetry: { isEnabled: tracingActive(), recordInputs: false, recordOutputs: false },
      onStepFinish: (step) => {
        addUsage(partial, fromSdkUsage(step.usage, 1));
        open.report(step.usage);
      },
    });
    if (result.warnings?.length)
      log?.debug({ provider: open.ref.provider, model: open.ref.modelId, warnings: result.warnings }, 'LLM warnings');
    return { text: result.text, usage: fromSdkUsage(result.totalUsage, result.steps.length) };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new LlmCallError(
      `${open.ref.provider} model '${open.ref.modelId}' failed: ${scrubbedMessage(error, open.key)}`,
      partial.successful_requests > 0 ? partial : undefined,
    );
  }
}
