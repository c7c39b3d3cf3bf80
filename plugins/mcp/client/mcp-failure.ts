import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ApflowError, isApflowError, refusalDetail, type ErrorCode } from 'apflow';
import { safeText } from './safe-text.ts';

/** What a failure message needs to say where and why, without secrets. */
export interface FailureContext {
  /** Who reports it: `mcp_executor`, or a crew agent's tool. */
  who: string;
  /** The server as shown: the program (stdio) or origin and path (http). */
  target: string;
  /** What was under way: `connecting`, `tools/call`, ... */
  step: string;
  timeoutS: number;
  /** Values that must not appear (header values, the program's variables). */
  secrets: readonly string[];
  /** The last lines the program wrote on stderr (stdio), already bounded. */
  stderr?: () => string;
}

// MCP error codes whose retry cannot help: the request itself is wrong.
const CODES: Record<number, ErrorCode> = {
  [-32601]: 'APF_INVALID_PARAMS',
  [-32602]: 'APF_INVALID_PARAMS',
  [-32002]: 'APF_NOT_FOUND',
};

/** The SDK's "MCP error -32602: " prefixes (relayed errors carry two) taken off. */
const bareMessage = (error: McpError) => error.message.replace(/^(MCP error -?\d+: )+/, '');

/** fetch says only "fetch failed"; the reason (DNS, TLS, reset…) is in its cause. */
function describe(error: unknown): string {
  const cause =
    error instanceof Error && error.message === 'fetch failed' && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  return cause.message || (cause as NodeJS.ErrnoException).code || cause.name;
}

/**
 * The error a failed MCP step fails the task with: the task's own abort reason when it was
 * cancelled (so the task ends cancelled), else an ApflowError whose message names the step and
 * the server and never holds a secret.
 */
export function mcpFailure(
  error: unknown,
  context: FailureContext,
  signals: { task: AbortSignal; step: AbortSignal },
): unknown {
  if (signals.task.aborted) return signals.task.reason;
  const { who, target, step, timeoutS, secrets } = context;
  const fail = (code: ErrorCode, message: string) => new ApflowError(code, { message: safeText(message, secrets) });
  const stderr = () => {
    const tail = context.stderr?.().trim();
    return tail ? ` (stderr: ${safeText(tail, secrets)})` : '';
  };
  const timedOut =
    signals.step.aborted ||
    (error instanceof McpError && error.code === -32001 && /timed out|timeout/i.test(error.message));
  if (timedOut) return fail('APF_UNAVAILABLE', `${who}: ${target} timed out after ${timeoutS}s (${step})`);
  const refused = refusalDetail(error);
  if (refused) return fail('APF_FORBIDDEN', `${who}: ${refused.target}/ is refused: ${refused.reason}`);
  if (isApflowError(error)) return error;
  if (error instanceof McpError) {
    if (error.code === -32000)
      return fail('APF_UNAVAILABLE', `${who}: ${target} closed the connection (${step})${stderr()}`);
    return fail(
      CODES[error.code] ?? 'APF_UNAVAILABLE',
      `${who}: ${step} failed: MCP error ${error.code}: ${bareMessage(error)}`,
    );
  }
  const status = (error as { code?: unknown }).code;
  if (error instanceof Error && /^(Streamable HTTP|SSE) error: /.test(error.message) && typeof status === 'number') {
    return fail(
      'APF_UNAVAILABLE',
      `${who}: ${target} answered${status > 0 ? ` HTTP ${status}` : ''} (${step}): ${error.message}`,
    );
  }
  if (
    error instanceof Error &&
    'syscall' in error &&
    typeof status === 'string' &&
    String(error.syscall).startsWith('spawn')
  ) {
    return fail('APF_UNAVAILABLE', `${who}: cannot start ${target}: ${status}`);
  }
  return fail('APF_UNAVAILABLE', `${who}: ${target} failed (${step}): ${describe(error)}${stderr()}`);
}
