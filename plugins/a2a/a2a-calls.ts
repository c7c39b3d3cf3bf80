import type { ServerResponse } from 'node:http';
import { formatSSEErrorEvent, formatSSEEvent, SSE_HEADERS } from '@a2a-js/sdk';
import { VersionNotSupportedError } from '@a2a-js/sdk/errors';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import {
  toWireError,
  type FastifyReply,
  type PluginApp,
  type RpcContext,
  type RpcErrorObject,
  type RpcFallback,
  type RpcResponse,
} from 'apflow';
import type { A2aStore } from './a2a-store.ts';
import { STREAMING_METHODS } from './a2a-methods.ts';
import { requestedVersion } from './a2a-version.ts';
import { v1Card } from './agent-card.ts';
import { callContext, keptRefusal, type A2aVersion } from './call-context.ts';
import { cardFacts } from './card-facts.ts';
import { hideInternal } from './errors.ts';
import { guardHandler } from './guard-handler.ts';
import type { PushService } from './push-service.ts';
import { createRequestHandler } from './request-handler.ts';
import type { A2aConfig } from './settings.ts';

/** Seconds between keep-alive comments on an A2A stream (proxies drop idle connections). */
const KEEP_ALIVE_S = 15;

/** What answering A2A calls needs from the plugin: its store, push service and settings, and the open streams. */
export interface A2aCallDeps {
  store: A2aStore;
  push: PushService;
  settings: A2aConfig;
  /** Streams being answered, ended by the endpoint when the server closes. */
  open: Set<ServerResponse>;
}

/**
 * The answer to A2A's JSON-RPC calls: the SDK's transport handler of the requested version
 * checks the call and shapes the answer; streams go out as Server-Sent Events, one JSON-RPC
 * response per event.
 */
export function createA2aCalls(app: PluginApp, deps: A2aCallDeps): RpcFallback {
  const { settings, open } = deps;
  const handler = createRequestHandler(app, deps.store, deps.push, {
    // The SDK asks for the card only to check capabilities; the served card uses the request's host.
    card: () =>
      v1Card(cardFacts(app, settings, app.config.server.base_url ?? `http://localhost:${app.config.server.port}`)),
    maxHistory: settings.max_history,
  });
  const guarded = guardHandler(handler);
  const transports = { '1.0': new JsonRpcTransportHandler(guarded), '0.3': new LegacyJsonRpcTransportHandler(guarded) };
  const mapped = (version: A2aVersion, error: unknown): RpcErrorObject =>
    version === '0.3'
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
      : JsonRpcTransportHandler.mapToJSONRPCError(error);
  // No internal error text reaches the wire (a stack overflow, a database message): as on every route.
  const errorOf = (version: A2aVersion, error: unknown, ctx: RpcContext): RpcErrorObject => {
    // A spent budget reads as on every route (-32001 with its data), in a stream's error event too.
    const refusal = keptRefusal(ctx.request);
    if (refusal) return toWireError(refusal).body;
    return hideInternal(mapped(version, error), ctx.request.id, ctx.log, ctx.method);
  };

  return async (call, ctx) => {
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
      const refusal = keptRefusal(ctx.request);
      if (refusal) throw refusal;
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
  };
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
