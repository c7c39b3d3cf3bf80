import type { ServerResponse } from 'node:http';
import { formatSSEErrorEvent, formatSSEEvent, SSE_HEADERS } from '@a2a-js/sdk';
import { VersionNotSupportedError } from '@a2a-js/sdk/errors';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler, type A2ARequestHandler } from '@a2a-js/sdk/server';
import type { FastifyReply, PluginApp, RpcContext, RpcErrorObject, RpcResponse } from 'apflow';
import { A2A_METHODS, STREAMING_METHODS } from './a2a-methods.ts';
import { hideInternal } from './errors.ts';
import { callContext, type A2aVersion } from './call-context.ts';

/** Seconds between keep-alive comments on an A2A stream (proxies drop idle connections). */
const KEEP_ALIVE_S = 15;

/**
 * The protocol version a request asks for (`A2A-Version`): absent or empty means 0.3 (the
 * spec's rule); patch versions are ignored. Null when apflow does not speak it.
 */
export function requestedVersion(header: string | string[] | undefined): A2aVersion | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if (value === '' || /^0\.3(\.\d+)?$/.test(value)) return '0.3';
  if (/^1(\.0(\.\d+)?)?$/.test(value)) return '1.0';
  return null;
}

/**
 * Answers A2A's JSON-RPC methods on `POST /` (every method of `/` that apflow's own plugins do
 * not register): the SDK's transport handler of the requested version checks the call and
 * shapes the answer; streams go out as Server-Sent Events, one JSON-RPC response per event.
 */
export function mountA2aEndpoint(app: PluginApp, handler: A2ARequestHandler): void {
  const open = new Set<ServerResponse>();
  // Shutdown and reload end the streams at once; clients resubscribe (tasks/resubscribe, SubscribeToTask).
  app.onClosing(() => {
    for (const res of open) res.end();
  });
  const transports = { '1.0': new JsonRpcTransportHandler(handler), '0.3': new LegacyJsonRpcTransportHandler(handler) };
  const mapped = (version: A2aVersion, error: unknown): RpcErrorObject =>
    version === '0.3'
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
      : JsonRpcTransportHandler.mapToJSONRPCError(error);
  // No internal error text reaches the wire (a stack overflow, a database message): as on every route.
  const errorOf = (version: A2aVersion, error: unknown, ctx: RpcContext) =>
    hideInternal(mapped(version, error), ctx.request.id, ctx.log, ctx.method);

  const about = {
    title: 'A2A methods',
    description: `The A2A protocol, answered by the a2a plugin: v0.3 names (no \`A2A-Version\` header, or 0.3): ${A2A_METHODS['0.3'].join(', ')}; v1.0 names (\`A2A-Version: 1.0\`): ${A2A_METHODS['1.0'].join(', ')}. Params as in the A2A specification; see plugins/a2a/README.md.`,
    methods: [...A2A_METHODS['0.3'], ...A2A_METHODS['1.0']],
  };
  app.rpc.fallback(
    '/',
    async (call, ctx: RpcContext): Promise<RpcResponse | undefined> => {
      // A streaming call's errors are stream events too, wherever they arise (unknown or another
      // user's task, bad params, an unknown version): a client that asked for a stream reads one.
      const failed = (error: RpcErrorObject, id = ctx.id): RpcResponse | undefined => {
        const response: RpcResponse = { jsonrpc: '2.0', id, error };
        if (!STREAMING_METHODS.has(ctx.method) || !ctx.reply || ctx.batch) return response;
        openEventStream(ctx.reply).end(formatSSEErrorEvent(response));
        return undefined;
      };
      const version = requestedVersion(ctx.request.headers['a2a-version']);
      if (!version) {
        const header = String(ctx.request.headers['a2a-version']);
        return failed(
          errorOf(
            '1.0',
            new VersionNotSupportedError(
              `A2A protocol version ${header} is not supported (this server speaks 0.3 and 1.0)`,
            ),
            ctx,
          ),
        );
      }
      let answer: unknown;
      try {
        answer = await transports[version].handle(
          call,
          callContext({ principal: ctx.principal, request: ctx.request, log: ctx.log, version }),
        );
      } catch (error) {
        return failed(errorOf(version, error, ctx));
      }
      if (!isStream(answer)) {
        const response = answer as RpcResponse;
        return 'error' in response
          ? failed(hideInternal(response.error, ctx.request.id, ctx.log, ctx.method), response.id)
          : response;
      }
      if (!ctx.reply || ctx.batch) {
        await answer.return(undefined);
        return {
          jsonrpc: '2.0',
          id: ctx.id,
          error: {
            code: -32004,
            message: `${ctx.method} streams its answer: send it alone over HTTP, not in a batch or over WebSocket`,
          },
        };
      }
      // The first event is awaited before the stream opens: an early error is the stream's one event.
      let first: IteratorResult<unknown>;
      try {
        first = await answer.next();
      } catch (error) {
        return failed(errorOf(version, error, ctx));
      }
      const res = openEventStream(ctx.reply);
      open.add(res);
      const keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_S * 1000);
      keepAlive.unref();
      // A client that leaves ends the stream (and stops following the tree).
      res.once('close', () => void answer.return(undefined));
      try {
        for (let next = first; !next.done && !res.destroyed; next = await answer.next())
          res.write(formatSSEEvent(next.value));
      } catch (error) {
        if (!res.destroyed)
          res.write(formatSSEErrorEvent({ jsonrpc: '2.0', id: ctx.id, error: errorOf(version, error, ctx) }));
        ctx.log.warn({ err: error, method: ctx.method }, 'A2A stream ended with an error');
      } finally {
        clearInterval(keepAlive);
        open.delete(res);
        res.end();
      }
      return undefined;
    },
    about,
  );
}

/** Takes the HTTP answer over and opens an event stream on it (HTTP 200, `text/event-stream`). */
function openEventStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  reply.raw.writeHead(200, SSE_HEADERS);
  return reply.raw;
}

function isStream(value: unknown): value is AsyncGenerator<unknown, void, undefined> {
  return (
    typeof value === 'object' && value !== null && typeof (value as AsyncGenerator)[Symbol.asyncIterator] === 'function'
  );
}
