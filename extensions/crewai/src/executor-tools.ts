import type { JSONSchema7, ToolSet } from 'ai';
import { ApflowError, type ExecutorContext, type RegisteredExecutor } from 'apflow';
import { loadAi } from './ai-sdk.ts';

/** How tools find executors: the plugin's `app.executors`. */
export interface ExecutorLookup {
  get(id: string): RegisteredExecutor | undefined;
}

const ANY_OBJECT: JSONSchema7 = { type: 'object', additionalProperties: true };

/** A tool name providers accept (`^[A-Za-z0-9_-]{1,64}$`). */
const toolName = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);

/**
 * The apflow executors named by an agent's `tools`, as AI SDK tools. A call validates the model's
 * arguments against the executor's input schema and runs it with the crew task's context (its
 * user, its key resolution, its abort signal), without the crew task's progress.
 */
export async function executorTools(
  ids: readonly string[],
  agent: string,
  executors: ExecutorLookup,
  ctx: ExecutorContext,
): Promise<ToolSet> {
  const { dynamicTool, jsonSchema } = await loadAi();
  const tools: ToolSet = {};
  for (const id of ids) {
    const found = executors.get(id);
    if (!found) {
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `Tool '${id}' of agent '${agent}' is not a registered executor`,
      });
    }
    // A TypeBox schema is JSON Schema; the round trip keeps only its JSON.
    const schema = found.definition.inputSchema
      ? (JSON.parse(JSON.stringify(found.definition.inputSchema)) as JSONSchema7)
      : ANY_OBJECT;
    tools[toolName(id)] = dynamicTool({
      description: found.definition.description ?? found.definition.name ?? id,
      inputSchema: jsonSchema(schema),
      execute: async (input, options) => {
        // Looked up again: a hot reload may have replaced the executor since the crew started.
        const registered = executors.get(id) ?? found;
        const problems = registered.validate(input);
        if (problems) throw new Error(`invalid inputs for ${id}: ${problems.join('; ')}`);
        const signal = options.abortSignal ? AbortSignal.any([ctx.signal, options.abortSignal]) : ctx.signal;
        // The inputs passed the executor's own schema just above.
        const result = await registered.definition.execute(input as never, {
          ...ctx,
          signal,
          progress: () => undefined,
        });
        return result === undefined ? null : result;
      },
    });
  }
  return tools;
}
