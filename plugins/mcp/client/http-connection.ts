import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ApflowError, type OutboundFetchInit } from 'apflow';
import { newClient, runStep, settlesWithin, type ConnectOptions, type McpConnection } from './mcp-connection.ts';
import { shownUrl, specSecrets, type ServerSpec } from './server-spec.ts';

/** Statuses of a POSTed `initialize` that mean "only the legacy HTTP+SSE transport here". */
const LEGACY_STATUSES = new Set([400, 404, 405]);
/** Longest wait for the session's DELETE when closing. */
const DELETE_WAIT_MS = 2000;

/**
 * Connects to `spec.url` with Streamable HTTP, or with the legacy HTTP+SSE transport when the
 * server answers the POSTed `initialize` with 400, 404 or 405. Every request goes through the
 * outbound policy (`options.outbound.fetch`) and carries `spec.headers`, whose values never
 * appear in messages. `close()` ends the session (DELETE) and the connection.
 */
export async function openHttp(
  spec: Extract<ServerSpec, { transport: 'http' }>,
  options: ConnectOptions,
): Promise<McpConnection> {
  const url = new URL(spec.url);
  const target = shownUrl(spec.url);
  // An early, clear refusal; every connection is checked again when it is opened.
  const refused = await options.outbound.check(url);
  if (refused) throw new ApflowError('APF_FORBIDDEN', { message: `${options.who}: ${target} ${refused}` });
  const context = { who: options.who, target, secrets: specSecrets(spec) };
  // The SDK types fetch with the DOM's Request/Response; undici's are the same at run time.
  const fetch: FetchLike = (input, init) =>
    options.outbound.fetch(input, init as OutboundFetchInit) as unknown as Promise<Response>;
  const requestInit = { headers: spec.headers ?? {} };

  const streamable = new StreamableHTTPClientTransport(url, { fetch, requestInit });
  let client = newClient();
  let legacyOnly = false;
  try {
    await runStep(context, options, 'connecting', async (request) => {
      try {
        await client.connect(streamable, request);
      } catch (error) {
        if (!isLegacyAnswer(error)) throw error;
        legacyOnly = true;
      }
    });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  if (!legacyOnly) {
    const close = async () => {
      await settlesWithin(streamable.terminateSession(), DELETE_WAIT_MS);
      await client.close().catch(() => undefined);
    };
    return {
      client,
      transport: 'http',
      request: (step, work, extra) => runStep(context, options, step, work, extra),
      close,
    };
  }
  await client.close().catch(() => undefined);

  const legacy = new SSEClientTransport(url, { fetch, requestInit });
  client = newClient();
  try {
    await runStep(context, options, 'connecting (legacy HTTP+SSE)', (request) => client.connect(legacy, request));
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  const close = () => client.close().catch(() => undefined);
  return {
    client,
    transport: 'sse',
    request: (step, work, extra) => runStep(context, options, step, work, extra),
    close,
  };
}

/** Whether a failed Streamable HTTP `initialize` means the server speaks only HTTP+SSE. */
function isLegacyAnswer(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code !== undefined && LEGACY_STATUSES.has(error.code);
}
