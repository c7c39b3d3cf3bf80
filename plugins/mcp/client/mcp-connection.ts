import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { raceAbort, version, type Outbound } from 'apflow';
import { mcpFailure, type FailureContext } from './mcp-failure.ts';
import type { StdioGate } from './stdio-gate.ts';

/** Which transport a connection ended up on (`sse`: the legacy HTTP+SSE fallback of `http`). */
export type TransportName = 'stdio' | 'http' | 'sse';

/** What opening a connection needs besides the server's description. */
export interface ConnectOptions {
  /** Who reports failures (`mcp_executor`, `agent 'x' tool`). */
  who: string;
  gate: StdioGate;
  /** The outbound policy every HTTP request goes through (the task's `ctx.outbound`). */
  outbound: Outbound;
  /** The task's signal: aborting it cancels the request in flight and closes the connection. */
  signal: AbortSignal;
  /** Seconds each step may take: connecting, then each operation. */
  timeoutS: number;
}

/** Options of one request on a connection. */
export interface StepOptions {
  /** Aborts this request only (besides the connection's own signal). */
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
}

/** An initialized MCP session, and how to end it (always call `close`). */
export interface McpConnection {
  readonly client: Client;
  readonly transport: TransportName;
  /**
   * Runs one request with the step timeout and the signals: a hang past the timeout or an abort
   * cancels it (the SDK sends `notifications/cancelled`); failures become clear ApflowErrors.
   */
  request<T>(step: string, work: (options: RequestOptions) => Promise<T>, options?: StepOptions): Promise<T>;
  /** Ends the session and, for stdio, the program (it is gone when this resolves). */
  close(): Promise<void>;
}

/** A client as apflow introduces itself. */
export const newClient = () => new Client({ name: 'apflow', version }, { capabilities: {} });

/**
 * Runs `work` as one step under `options.timeoutS` and the signals; a failure is mapped by
 * {@link mcpFailure} with `context` (the step name filled in).
 */
export async function runStep<T>(
  context: Omit<FailureContext, 'step' | 'timeoutS'>,
  options: Pick<ConnectOptions, 'signal' | 'timeoutS'>,
  step: string,
  work: (options: RequestOptions) => Promise<T>,
  extra: StepOptions = {},
): Promise<T> {
  const ms = Math.max(1, Math.round(options.timeoutS * 1000));
  const timer = AbortSignal.timeout(ms);
  const task = extra.signal ? AbortSignal.any([options.signal, extra.signal]) : options.signal;
  const signal = AbortSignal.any([task, timer]);
  try {
    return await raceAbort(
      work({ signal, timeout: ms, ...(extra.onprogress ? { onprogress: extra.onprogress } : {}) }),
      signal,
    );
  } catch (error) {
    throw mcpFailure(error, { ...context, step, timeoutS: options.timeoutS }, { task, step: timer });
  }
}

/** Resolves true once `promise` settles, false when `ms` passed first. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}
