import { defineExecutor, detectProvider, Type } from 'apflow';
import { generate, openModel, type LlmSettings } from './llm-call.ts';
import type { ModelMessage } from 'ai';

const Message = Type.Object({
  role: Type.Union([Type.Literal('system'), Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
});

/** `llm_executor`: one chat completion. */
export function createLlmExecutor(settings: LlmSettings) {
  return defineExecutor({
    id: 'llm_executor',
    name: 'LLM completion',
    description: 'One chat completion: model, messages (or prompt), temperature, max_tokens',
    inputSchema: Type.Object({
      model: Type.String({ minLength: 1 }),
      messages: Type.Optional(Type.Array(Message, { minItems: 1 })),
      prompt: Type.Optional(Type.String()),
      temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
      max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    async execute(inputs, ctx) {
      const messages: ModelMessage[] =
        inputs.messages ?? (inputs.prompt !== undefined ? [{ role: 'user', content: inputs.prompt }] : []);
      if (messages.length === 0) throw new Error('llm_executor needs messages or a prompt');
      const open = await openModel(inputs.model, ctx, settings);
      const answer = await generate(
        open,
        { messages, temperature: inputs.temperature, maxTokens: inputs.max_tokens, allowSystemInMessages: true },
        ctx.signal,
        ctx.log,
      );
      const { cached_prompt_tokens: _cached, successful_requests: _requests, ...token_usage } = answer.usage;
      return { content: answer.text, model: open.ref.modelId, provider: open.ref.provider, token_usage };
    },
    demoResult: (inputs) => ({
      content: 'Demo answer: no model was called.',
      model: inputs.model.includes('/') ? inputs.model.slice(inputs.model.indexOf('/') + 1) : inputs.model,
      provider: inputs.model.includes('/')
        ? inputs.model.slice(0, inputs.model.indexOf('/'))
        : detectProvider(inputs.model),
      token_usage: { total_tokens: 0, prompt_tokens: 0, completion_tokens: 0 },
    }),
  });
}
