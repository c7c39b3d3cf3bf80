import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../hooks/hook-types.ts';
import type { Hooks } from '../hooks/hooks.ts';

/**
 * Runs the `request` hook, then the `auth` hook, for one request or message, and sets the
 * principal the auth hook answered. A throw from either rejects the request or message.
 */
export async function enterRequest(hooks: Hooks, context: RequestContext): Promise<RequestContext> {
  await hooks.request.promise(context);
  context.principal = (await hooks.auth.promise(context)) ?? undefined;
  return context;
}

const counters = new WeakMap<FastifyRequest, number>();

/** What a message adds to its connection's request. */
export interface MessageOptions {
  /** A bearer token the client sent in a message (WebSocket `auth`), presented as `Authorization`. */
  token?: string;
}

/**
 * The context of one message on a long-lived connection (a WebSocket opened by `connection`):
 * the connection's headers and address, a message id of its own (`<request id>.<n>`), `method`
 * (the JSON-RPC method or the action), and a fresh `state`; a token the client sent in a message
 * stands in for the `Authorization` header. The principal falls back to the connection's when
 * the auth hook does not answer for the message.
 */
export async function enterMessage(hooks: Hooks, connection: FastifyRequest, method: string, options: MessageOptions = {}): Promise<RequestContext> {
  const n = (counters.get(connection) ?? 0) + 1;
  counters.set(connection, n);
  const context = await enterRequest(hooks, {
    id: `${connection.id}.${n}`,
    transport: 'ws',
    method,
    url: connection.url,
    route: connection.routeOptions.url,
    headers: options.token ? { ...connection.headers, authorization: `Bearer ${options.token}` } : connection.headers,
    ip: connection.ip,
    state: {},
  });
  context.principal ??= connection.apflow?.principal;
  return context;
}
