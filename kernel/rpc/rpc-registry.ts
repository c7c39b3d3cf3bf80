import type { FastifyReply } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApflowError } from '../errors/apflow-error.ts';
import type { RpcResponse } from './rpc-dispatch.ts';
import type { Principal, RequestContext } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import { describeSchemaErrors } from '../internal/schema-errors.ts';

/** What a JSON-RPC method handler gets besides its params. */
export interface RpcContext {
  /** The request's id as the client sent it (null when absent). */
  id: string | number | null;
  endpoint: string;
  method: string;
  request: RequestContext;
  principal: Principal | undefined;
  /** The HTTP reply, for handlers that answer with a stream; absent over WebSocket. */
  reply?: FastifyReply;
  /** True for a call inside a batch (which cannot answer with a stream). */
  batch?: boolean;
  /**
   * The HTTP request's `Idempotency-Key` header, for the methods that run once per key
   * (`app.idempotency`); absent over WebSocket and in calls made with `rpc.call`.
   */
  idempotencyKey?: string;
  log: Logger;
}

/** One JSON-RPC method. */
export interface RpcMethodDefinition<S extends TSchema = TSchema> {
  /** Schema of `params`; checked before the handler runs, failures answer -32602. */
  params?: S;
  description?: string;
  /** Returns the result (undefined becomes null). Throw an ApflowError for a wire error. */
  handler(params: Static<S>, ctx: RpcContext): unknown;
}

/**
 * Answers the calls of an endpoint whose method it does not register (A2A's methods on `/`):
 * with a whole JSON-RPC response, or with undefined once it answered on `ctx.reply` itself (a
 * stream). The envelope was checked (jsonrpc, method, id) before.
 */
export type RpcFallback = (call: Record<string, unknown>, ctx: RpcContext) => Promise<RpcResponse | undefined>;

/** What a fallback says of the calls it answers (documentation only). */
export interface FallbackAbout {
  /** A title and a description of those calls. */
  title?: string;
  description?: string;
  /** The method names it answers, when it can list them. */
  methods?: readonly string[];
}

/** A registered method with its compiled params check. */
export interface RegisteredRpcMethod {
  readonly name: string;
  readonly plugin: string;
  readonly definition: RpcMethodDefinition;
  /** Throws -32602 naming the bad param; returns the params otherwise. */
  readonly check: (params: unknown) => unknown;
}

/**
 * JSON-RPC methods by endpoint path (`/tasks`, `/system`, `/`). Plugins add methods here;
 * the kernel mounts one POST route per endpoint and dispatches through `rpc-dispatch.ts`.
 */
export function createRpcRegistry() {
  const endpoints = new Map<string, Map<string, RegisteredRpcMethod>>();
  const fallbacks = new Map<string, { plugin: string; answer: RpcFallback; about: FallbackAbout }>();
  return {
    add<S extends TSchema>(plugin: string, endpoint: string, name: string, definition: RpcMethodDefinition<S>): void {
      const methods = endpoints.get(endpoint) ?? new Map<string, RegisteredRpcMethod>();
      endpoints.set(endpoint, methods);
      const existing = methods.get(name);
      if (existing) {
        throw new ApflowError('APF_PLUGIN_LOAD_FAILED', {
          message: `JSON-RPC method '${name}' on ${endpoint} is registered by both '${existing.plugin}' and '${plugin}'`,
        });
      }
      methods.set(name, {
        name,
        plugin,
        definition,
        check: compileParams(name, definition.params),
      });
    },
    /** Sets the one fallback of `endpoint` (a second plugin asking for it is refused). */
    setFallback(plugin: string, endpoint: string, answer: RpcFallback, about: FallbackAbout = {}): void {
      const existing = fallbacks.get(endpoint);
      if (existing) {
        throw new ApflowError('APF_PLUGIN_LOAD_FAILED', {
          message: `the JSON-RPC fallback of ${endpoint} is claimed by both '${existing.plugin}' and '${plugin}'`,
        });
      }
      fallbacks.set(endpoint, { plugin, answer, about });
      if (!endpoints.has(endpoint)) endpoints.set(endpoint, new Map());
    },
    get: (endpoint: string, name: string) => endpoints.get(endpoint)?.get(name),
    fallback: (endpoint: string): RpcFallback | undefined => fallbacks.get(endpoint)?.answer,
    /** Every fallback, with what it says of itself (for API documentation). */
    fallbacks: () => [...fallbacks].map(([endpoint, entry]) => ({ endpoint, plugin: entry.plugin, ...entry.about })),
    endpoints: (): string[] => [...endpoints.keys()],
    methods: (endpoint: string): RegisteredRpcMethod[] => [...(endpoints.get(endpoint)?.values() ?? [])],
  };
}

/** The JSON-RPC method registry of one generation. */
export type RpcRegistry = ReturnType<typeof createRpcRegistry>;

function compileParams(name: string, schema: TSchema | undefined): (params: unknown) => unknown {
  if (!schema) return (params) => params;
  // Compiled at the method's first call: most methods of a start are never called.
  let validator: ReturnType<typeof Compile> | undefined;
  return (params) => {
    validator ??= Compile(schema);
    if (validator.Check(params)) return params;
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `Invalid params for ${name}:\n${describeSchemaErrors(validator.Errors(params), 'params')}`,
    });
  };
}
