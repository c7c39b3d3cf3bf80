import { ApflowError } from 'apflow';
import type { McpClientSettings } from '../settings.ts';

/** Whether `transport: stdio` may start programs, and which. */
export interface StdioGate {
  enabled: boolean;
  /** Exact `command[0]` values allowed; empty = any. */
  allow: string[];
}

/**
 * The gate from the config (`mcp.client.stdio`; the kernel maps `APFLOW_MCP_STDIO_ENABLED` and
 * `APFLOW_MCP_STDIO_ALLOW` onto it, as every environment variable): off, and any program, unless set.
 */
export function resolveStdioGate(settings: McpClientSettings): StdioGate {
  return { enabled: settings.stdio.enabled ?? false, allow: settings.stdio.allow ?? [] };
}

/** Variables that change which program runs or what it loads: they would get round an allow list. */
const STEERING = /^(PATH|NODE_OPTIONS|LD_.*|DYLD_.*)$/i;

/**
 * Throws APF_FORBIDDEN, naming the setting that would allow it, unless `program` may be started
 * with the variables `env`.
 */
export function checkStdioGate(
  gate: StdioGate,
  program: string,
  env: Readonly<Record<string, string>>,
  who: string,
): void {
  if (!gate.enabled) {
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${who}: transport 'stdio' is disabled: set mcp.client.stdio.enabled: true (or APFLOW_MCP_STDIO_ENABLED=1) to allow starting MCP servers`,
    });
  }
  // Exact names only, as the command executor: '/tmp/x/node' is another program than 'node'.
  if (gate.allow.length > 0 && !gate.allow.includes(program)) {
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${who}: command '${program}' is not in mcp.client.stdio.allow (${gate.allow.join(', ')}); add it there (or to APFLOW_MCP_STDIO_ALLOW)`,
    });
  }
  const steering = gate.allow.length > 0 ? Object.keys(env).find((name) => STEERING.test(name)) : undefined;
  if (steering) {
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${who}: env may not set ${steering} while mcp.client.stdio.allow is set (it changes which program runs or what it loads)`,
    });
  }
}
