import { definePlugin, Type } from 'apflow';
import { createBatchCrewaiExecutor, createCrewaiExecutor } from './crewai-executors.ts';
import { createLlmExecutor } from './llm-executor.ts';
import type { McpClientLike } from './mcp-tools.ts';
import { createGenerateExecutor } from './generate-executor.ts';

const Settings = Type.Object(
  {
    providers: Type.Record(
      Type.String(),
      Type.Object({ base_url: Type.Optional(Type.String({ pattern: '^https?://' })) }, { additionalProperties: false }),
      { default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/**
 * `@apflow/crewai`: `crewai_executor`, `batch_crewai_executor` and `llm_executor` on the Vercel AI
 * SDK. Keys come from `ctx.resolveKey` (the `keyResolve` hook); addresses from `llm.providers`.
 */
export default definePlugin({
  name: 'crewai',
  version: '0.1.0',
  description: 'CrewAI-style crews and one-shot LLM completions',
  config: { key: 'llm', schema: Settings },
  setup(app) {
    // The AI SDK prints provider warnings on the console; they go to the task's debug log instead
    // (unless the embedding app set its own AI_SDK_LOG_WARNINGS).
    globalThis.AI_SDK_LOG_WARNINGS ??= false;
    const settings = app.settings;
    // The service is typed by the mcp plugin, which this package cannot import: asked by name.
    const service = app.service as (name: string) => McpClientLike | undefined;
    const deps = { settings, executors: app.executors, mcp: () => service('mcp-client') };
    app.executors.register(createCrewaiExecutor(deps));
    app.executors.register(createBatchCrewaiExecutor(deps));
    app.executors.register(createLlmExecutor(settings));
    app.executors.register(createGenerateExecutor(settings, app.executors));
  },
});
