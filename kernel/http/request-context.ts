import type { FastifyRequest } from 'fastify';
import type { Principal, RequestContext } from '../hooks/hook-types.ts';
import type { Hooks } from '../hooks/hooks.ts';

/**
 * A credential one route accepts besides the `auth` hook's (route `config.credential`): answers
 * a principal when the request carries it, `undefined` to leave the request to the `auth` hook.
 */
export type RouteCredential = (request: RequestContext) => Principal | undefined | Promise<Principal | undefined>;

/**
 * Runs the `request` hook, then the `auth` hook, for one request or message, and sets the
 * principal the auth hook answered. A route's own `credential`, when it recognises the request,
 * answers instead of the `auth` hook. A throw from any of them rejects the request or message.
 */
export async function enterRequest(
  hooks: Hooks,
  context: RequestContext,
  credential?: RouteCredential,
): Promise<RequestContext> {
  await hooks.request.promise(context);
  context.principal = (await credential?.(context)) ?? (await hooks.auth.promise(context)) ?? undefined;
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
export async function enterMessage(
  hooks: Hooks,
  connection: FastifyRequest,
  method: string,
  options: MessageOptions = {},
): Promise<RequestContext> {
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
