import { ApflowError, defineExecutor, type ExecutorContext, Type, isRecord } from 'apflow';
import { DEFAULT_MODEL, runCrew, type CrewEnv, type CrewResult } from './crew.ts';
import type { ExecutorLookup } from './executor-tools.ts';
import type { LlmSettings } from './llm-call.ts';
import type { McpClientLike } from './mcp-tools.ts';
import { addUsage, noUsage } from './token-usage.ts';
import { checkWorks, interpolate } from './works.ts';

/** What both crew executors share: the plugin's settings, its executor table and the MCP client. */
export interface CrewDeps {
  settings: LlmSettings;
  executors: ExecutorLookup;
  /** The mcp plugin's `mcp-client` service, looked up when a crew runs (absent: plugin disabled). */
  mcp(): McpClientLike | undefined;
}

// Inputs are the crew's `{placeholder}` values: any object.
const Inputs = Type.Record(Type.String(), Type.Unknown());

function crewEnv(deps: CrewDeps, ctx: ExecutorContext, progress: CrewEnv['progress']): CrewEnv {
  const model = ctx.task.schemas?.model;
  return { ...deps, ctx, progress, defaultModel: typeof model === 'string' && model ? model : DEFAULT_MODEL };
}

/** `crewai_executor`: one crew (`params.works`: agents and tasks), run sequentially. */
export function createCrewaiExecutor(deps: CrewDeps) {
  return defineExecutor({
    id: 'crewai_executor',
    name: 'CrewAI crew',
    description:
      'Runs a crew of LLM agents (params.works: agents and tasks) sequentially; inputs fill the {placeholders}',
    inputSchema: Inputs,
    async execute(inputs, ctx): Promise<CrewResult> {
      const works = checkWorks(ctx.params.works);
      return runCrew(
        works,
        inputs,
        crewEnv(deps, ctx, (fraction, message) => ctx.progress(fraction, message)),
      );
    },
    demoResult: (inputs, ctx): CrewResult => ({
      status: 'success',
      result: demoOutput(ctx.params.works, inputs),
      token_usage: noUsage(),
    }),
  });
}

/** What a crew "answers" in demo mode: its last task, as given, without calling a model. */
function demoOutput(works: unknown, inputs: Readonly<Record<string, unknown>>): string {
  const tasks = isRecord(works) ? works.tasks : undefined;
  const last: unknown = typeof tasks === 'object' && tasks !== null ? Object.values(tasks).at(-1) : undefined;
  const description =
    isRecord(last) && typeof last.description === 'string' ? interpolate(last.description, inputs) : "the crew's task";
  return `Demo result (no model was called) for: ${description}`;
}

/** `batch_crewai_executor`: several crews (`params.works`: {name: {agents, tasks}}), one after another. */
export function createBatchCrewaiExecutor(deps: CrewDeps) {
  return defineExecutor({
    id: 'batch_crewai_executor',
    name: 'CrewAI batch',
    description:
      'Runs several crews (params.works: {work name: {agents, tasks}}) one after another and gathers their results',
    inputSchema: Inputs,
    async execute(inputs, ctx): Promise<CrewResult> {
      const batch = ctx.params.works;
      if (batch === undefined || batch === null)
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'works parameter is required' });
      if (!isRecord(batch) || Object.keys(batch).length === 0) {
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'works must map work names to {agents, tasks}' });
      }
      // Every work is checked before any runs, so a typo in the last one costs no tokens.
      const works = Object.entries(batch).map(([name, work]) => {
        try {
          return [name, checkWorks(work)] as const;
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          throw new ApflowError('APF_INVALID_PARAMS', { message: `work '${name}': ${why}` });
        }
      });
      const usage = noUsage();
      const results: Record<string, unknown> = {};
      const failed: string[] = [];
      for (const [index, [name, work]] of works.entries()) {
        const progress = (fraction: number, message: string) =>
          ctx.progress((index + fraction) / works.length, `work '${name}': ${message}`);
        const outcome = await runCrew(work, inputs, crewEnv(deps, ctx, progress));
        addUsage(usage, outcome.token_usage);
        if (outcome.status === 'success') results[name] = outcome.result;
        else failed.push(name);
      }
      if (failed.length > 0)
        return { status: 'failed', error: `Failed works: ${failed.join(', ')}`, result: null, token_usage: usage };
      return { status: 'success', result: results, token_usage: usage };
    },
    demoResult(inputs, ctx): CrewResult {
      const batch = ctx.params.works;
      const names = isRecord(batch) ? Object.entries(batch) : [];
      return {
        status: 'success',
        result: Object.fromEntries(names.map(([name, work]) => [name, demoOutput(work, inputs)])),
        token_usage: noUsage(),
      };
    },
  });
}
