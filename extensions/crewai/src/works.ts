import { ApflowError, isRecord } from 'apflow';
import { isMcpEntry, type McpToolEntry } from './mcp-tools.ts';

/** An agent of a crew (CrewAI's Agent: role, goal, backstory, llm, tools). */
export interface AgentSpec {
  role: string;
  goal: string;
  backstory?: string;
  /** A model name (`openai/gpt-4o-mini`, `claude-3-5-haiku-latest`) or `{model, temperature?, max_tokens?}`. */
  llm?: string | { model: string; temperature?: number; max_tokens?: number };
  /** Ids of apflow executors the agent may call, and MCP servers (`{mcp: {...}}`) whose tools it may call. */
  tools?: (string | McpToolEntry)[];
  /** Most model requests per task (tool rounds included); CrewAI's `max_iter`. */
  max_iter?: number;
}

/** A task of a crew (CrewAI's Task: description, expected_output, agent, context). */
export interface TaskSpec {
  description: string;
  expected_output?: string;
  agent: string;
  /** Names of earlier tasks whose outputs this task sees; by default, every earlier task's. */
  context?: string[];
}

/** A crew: agents and the tasks they run, in order. */
export interface Works {
  agents: Record<string, AgentSpec>;
  tasks: Record<string, TaskSpec>;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Checks a crew's `works`, with the original's messages for the original's checks. */
export function checkWorks(works: unknown): Works {
  if (works === undefined || works === null) throw invalid('works parameter is required');
  if (!isRecord(works) || !isRecord(works.agents) || !isRecord(works.tasks))
    throw invalid('works must contain agents and tasks');
  for (const [name, agent] of Object.entries(works.agents)) {
    if (!isRecord(agent) || typeof agent.role !== 'string' || typeof agent.goal !== 'string') {
      throw invalid(`Agent '${name}' must have a role and a goal`);
    }
    const llm = agent.llm;
    if (llm !== undefined && typeof llm !== 'string' && !(isRecord(llm) && typeof llm.model === 'string')) {
      throw invalid(`Agent '${name}': llm must be a model name or {model}`);
    }
    const tools = agent.tools;
    if (
      tools !== undefined &&
      !(Array.isArray(tools) && tools.every((tool) => typeof tool === 'string' || isMcpEntry(tool)))
    ) {
      throw invalid(`Agent '${name}': tools must be a list of executor ids and {mcp: {...}} MCP servers`);
    }
  }
  const earlier: string[] = [];
  for (const [name, task] of Object.entries(works.tasks)) {
    if (!isRecord(task) || typeof task.description !== 'string')
      throw invalid(`Task '${name}' must have a description`);
    if (typeof task.agent !== 'string' || !(task.agent in works.agents))
      throw invalid(`Agent '${String(task.agent)}' not found for task '${name}'`);
    if (task.context !== undefined) {
      if (!isStrings(task.context)) throw invalid(`Task '${name}': context must be a list of task names`);
      const unknown = task.context.find((ref) => !earlier.includes(ref));
      if (unknown !== undefined) throw invalid(`Task '${name}' has context '${unknown}', which is not an earlier task`);
    }
    earlier.push(name);
  }
  if (earlier.length === 0) throw invalid('works must contain agents and tasks');
  // Every agent and task was checked above, field by field.
  return works as unknown as Works;
}

/** `text` with each `{name}` whose name is an input replaced by that input (JSON unless a string). */
export function interpolate(text: string, inputs: Readonly<Record<string, unknown>>): string {
  return text.replace(/\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g, (whole, name: string) => {
    if (!Object.hasOwn(inputs, name)) return whole;
    const value = inputs[name];
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/** `text` parsed as JSON when it is JSON (alone, or as the only fenced block), else `text`. */
export function parseOutput(text: string): unknown {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  for (const candidate of fenced ? [trimmed, fenced[1] ?? ''] : [trimmed]) {
    try {
      return JSON.parse(candidate);
    } catch {
      // not JSON: try the next form, else keep the text
    }
  }
  return text;
}
