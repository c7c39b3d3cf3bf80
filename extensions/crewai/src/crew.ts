import type { ModelMessage, ToolSet } from 'ai';
import { ApflowError, type ExecutorContext } from 'apflow';
import { executorTools, type ExecutorLookup } from './executor-tools.ts';
import { generate, LlmCallError, openModel, type LlmSettings, type OpenModel } from './llm-call.ts';
import { isMcpEntry, mcpTools, type McpClientLike, type McpSessionLike } from './mcp-tools.ts';
import { addUsage, noUsage, type TokenUsage } from './token-usage.ts';
import { interpolate, parseOutput, type AgentSpec, type TaskSpec, type Works } from './works.ts';

/** The model an agent without `llm` uses (CrewAI's default). */
export const DEFAULT_MODEL = 'gpt-4o-mini';

/** A crew's outcome, in the original's shape. */
export type CrewResult =
  | { status: 'success'; result: unknown; token_usage: TokenUsage }
  | { status: 'failed'; error: string; result: null; token_usage?: TokenUsage };

/** What a crew run needs besides its works and inputs. */
export interface CrewEnv {
  ctx: ExecutorContext;
  settings: LlmSettings;
  executors: ExecutorLookup;
  /** The mcp plugin's `mcp-client` service, if it is loaded (for agents with MCP tools). */
  mcp(): McpClientLike | undefined;
  /** The model of agents without `llm` (the task's `schemas.model`, else {@link DEFAULT_MODEL}). */
  defaultModel: string;
  /** Progress of this crew, 0..1. */
  progress(fraction: number, message: string): void;
}

const agentPrompt = (agent: AgentSpec) =>
  [`You are ${agent.role}.`, agent.backstory, `Your personal goal is: ${agent.goal}`].filter(Boolean).join('\n');

function taskPrompt(task: TaskSpec, context: string[]): string {
  const parts = [`Current task: ${task.description}`];
  if (task.expected_output)
    parts.push(
      `This is the expected criteria for your final answer: ${task.expected_output}\nReturn the actual complete content as the final answer, not a summary.`,
    );
  if (context.length > 0)
    parts.push(`This is the context you are working with (outputs of earlier tasks):\n${context.join('\n\n')}`);
  return parts.join('\n\n');
}

/** The task's own `context` names, else every earlier task (CrewAI's sequential process). */
function contextOf(task: TaskSpec, outputs: Map<string, string>): string[] {
  const names = task.context ?? [...outputs.keys()];
  return names.map((name) => outputs.get(name)).filter((output): output is string => output !== undefined);
}

/** An agent's tools: its executors, and the tools of its MCP servers (connected on first use). */
async function agentTools(
  agent: AgentSpec,
  name: string,
  env: CrewEnv,
  sessions: McpSessionLike[],
): Promise<ToolSet | undefined> {
  if (!agent.tools?.length) return undefined;
  const ids = agent.tools.filter((tool) => typeof tool === 'string');
  const servers = agent.tools.filter(isMcpEntry);
  const tools = await executorTools(ids, name, env.executors, env.ctx);
  if (servers.length === 0) return tools;
  const remote = await mcpTools(servers, name, env.mcp(), env.ctx, sessions);
  const twice = Object.keys(remote).find((tool) => tool in tools);
  if (twice)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `Agent '${name}' has two tools named '${twice}': give an MCP server a prefix`,
    });
  return { ...tools, ...remote };
}

/**
 * Runs the crew's tasks in order, each by its agent, each seeing the earlier outputs as context.
 * A model failure ends the crew with `status: 'failed'`; a cancel rejects (the task is cancelled);
 * a missing key or an unknown tool rejects (the task fails). MCP sessions opened for the agents'
 * tools are closed when the crew ends, however it ends.
 */
export async function runCrew(
  works: Works,
  inputs: Readonly<Record<string, unknown>>,
  env: CrewEnv,
): Promise<CrewResult> {
  const sessions: McpSessionLike[] = [];
  try {
    return await runTasks(works, inputs, env, sessions);
  } finally {
    await Promise.all(sessions.map((session) => session.close().catch(() => undefined)));
  }
}

async function runTasks(
  works: Works,
  inputs: Readonly<Record<string, unknown>>,
  env: CrewEnv,
  sessions: McpSessionLike[],
): Promise<CrewResult> {
  const { ctx } = env;
  const toolsets = new Map<string, Promise<ToolSet | undefined>>();
  const usage = noUsage();
  const outputs = new Map<string, string>();
  const models = new Map<string, OpenModel>();
  const entries = Object.entries(works.tasks);
  let last = '';
  for (const [index, [name, spec]] of entries.entries()) {
    // checkWorks made sure each task names an agent of the crew.
    const agent = works.agents[spec.agent] as AgentSpec;
    const task: TaskSpec = {
      ...spec,
      description: interpolate(spec.description, inputs),
      expected_output: spec.expected_output && interpolate(spec.expected_output, inputs),
    };
    const agentView: AgentSpec = {
      ...agent,
      role: interpolate(agent.role, inputs),
      goal: interpolate(agent.goal, inputs),
      backstory: agent.backstory && interpolate(agent.backstory, inputs),
    };
    const llm = typeof agent.llm === 'object' ? agent.llm : { model: agent.llm ?? env.defaultModel };
    env.progress(index / entries.length, `task '${name}' started (agent '${spec.agent}')`);
    let open = models.get(llm.model);
    if (!open) {
      open = await openModel(llm.model, ctx, env.settings);
      models.set(llm.model, open);
    }
    let agentToolset = toolsets.get(spec.agent);
    if (!agentToolset) toolsets.set(spec.agent, (agentToolset = agentTools(agent, spec.agent, env, sessions)));
    const tools = await agentToolset;
    const messages: ModelMessage[] = [{ role: 'user', content: taskPrompt(task, contextOf(task, outputs)) }];
    try {
      const answer = await generate(
        open,
        {
          system: agentPrompt(agentView),
          messages,
          tools,
          maxSteps: tools ? (agent.max_iter ?? 10) : 1,
          temperature: llm.temperature,
          maxTokens: llm.max_tokens,
        },
        ctx.signal,
        ctx.log,
      );
      addUsage(usage, answer.usage);
      last = answer.text;
      outputs.set(name, answer.text);
    } catch (error) {
      if (!(error instanceof LlmCallError)) throw error;
      addUsage(usage, error.usage);
      return {
        status: 'failed',
        error: error.message,
        result: null,
        ...(usage.successful_requests > 0 ? { token_usage: usage } : {}),
      };
    }
    env.progress((index + 1) / entries.length, `task '${name}' done (${index + 1}/${entries.length})`);
  }
  return { status: 'success', result: parseOutput(last), token_usage: usage };
}
