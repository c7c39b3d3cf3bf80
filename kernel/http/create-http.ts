import { enterRequest, type RouteCredential } from './request-context.ts';
import { requireJsonBody } from './json-bodies-only.ts';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Hooks } from '../hooks/hooks.ts';
import type { RequestContext } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import { toRestResponse, toRpcResponse } from './error-mapping.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request as the hooks see it (principal, plugin state). */
    apflow: RequestContext;
  }
  interface FastifyContextConfig {
    /** Marks a JSON-RPC route: its errors use the JSON-RPC envelope. */
    rpc?: boolean;
    /**
     * A credential only this route accepts (the metrics plugin's scrape token): asked after the
     * `request` hook; when it answers a principal, the `auth` hook is not asked for this request.
     */
    credential?: RouteCredential;
    /**
     * The `WWW-Authenticate` value of this route's 401 answers (default `Bearer`): the MCP
     * endpoint names its protected-resource metadata there.
     */
    challenge?: (request: FastifyRequest) => string;
    /** Names the protocol this route is the endpoint of (`mcp`): `/health` lists it under `endpoints`. */
    endpoint?: string;
  }
}

/** One route of the app, as added (a route with several methods is one entry per method). */
export interface RouteDescription {
  method: string;
  /** Fastify's pattern, prefix included (`/tasks/:task_id/status`). */
  url: string;
  /** A JSON-RPC endpoint (its body is a JSON-RPC call or batch). */
  rpc: boolean;
  /** The route's Fastify schema (`body`, `querystring`, `params`, `response`, …), when it has one. */
  schema?: Readonly<Record<string, unknown>>;
  /** The protocol it is the endpoint of (route `config.endpoint`). */
  endpoint?: string;
}

/** A Fastify app that is not listening itself: the front server hands it requests. */
export interface HttpApp {
  fastify: FastifyInstance;
  /** Every route added so far, in order (read only: for API documentation). */
  routes(): readonly RouteDescription[];
  /** Node request listener of this app. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Creates one generation's Fastify app: request ids, the `request` and `auth` hooks on every
 * request, the body limit, and the error and not-found handlers that put every failure in the
 * catalogue's wire shape.
 */
export function createHttp(options: {
  hooks: Hooks;
  log: Logger;
  bodyLimit: number;
  requestLogLevel?: 'info' | 'debug' | 'trace';
}): HttpApp {
  let handle: HttpApp['handle'] | undefined;
  let counter = 0;
  const fastify = Fastify({
    loggerInstance: options.log,
    bodyLimit: options.bodyLimit,
    logController: new RequestLogs(options.requestLogLevel ?? 'debug'),
    genReqId: () => `req-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    // The front server owns the socket; this app only routes what it is handed.
    serverFactory: (handler) => {
      handle = handler;
      return createServer();
    },
    // Ids may be 255 characters, 765 once percent-encoded.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    // Malformed URLs and over-long path params are answered before routing: keep the wire shape.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const response = toRestResponse(error, request.id);
      void reply.status(response.status).send(response.body);
    },
  });

  // Fastify calls serverFactory while it is built: the listener is known from here on.
  const listener = handle;
  if (!listener) throw new Error('Fastify did not create its server');

  // Added before any plugin, so it sees every route, in every encapsulated scope.
  const routes: RouteDescription[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({
        method,
        url: route.url,
        rpc: route.config?.rpc === true,
        ...(isRecord(route.schema) ? { schema: route.schema } : {}),
        ...(route.config?.endpoint ? { endpoint: route.config.endpoint } : {}),
      });
    }
  });

  // Structured JSON types (`application/merge-patch+json`, …) read as JSON too: every write must be JSON.
  fastify.addContentTypeParser(
    /^application\/[^\s;/]+\+json$/i,
    { parseAs: 'string' },
    fastify.getDefaultJsonParser('error', 'error'),
  );

  // Null until the onRequest hook below sets it, first thing for every request.
  fastify.decorateRequest('apflow', null, []);
  fastify.addHook('onRequest', async (request, reply) => {
    // Browsers must not read an answer as another type than it says (a JSON body as HTML).
    void reply.header('x-content-type-options', 'nosniff');
    const context: RequestContext = {
      id: request.id,
      transport: 'http',
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      headers: request.headers,
      ip: request.ip,
      state: {},
    };
    request.apflow = context;
    // Before any hook: a cross-site "simple request" (text/plain, a form) is refused unread.
    if (!request.is404) requireJsonBody(request.method, request.headers);
    await enterRequest(options.hooks, context, request.routeOptions.config?.credential);
  });

  fastify.setErrorHandler((error, request, reply) => {
    const isRpc = request.routeOptions.config?.rpc === true;
    const response = isRpc ? toRpcResponse(error, null, request.id) : toRestResponse(error, request.id);
    if (response.error.code === 'APF_INTERNAL') request.log.error({ err: error }, 'request failed');
    // RFC 9110: a 401 names the scheme to authenticate with (A2A clients and the TCK look for it).
    if (response.status === 401)
      void reply.header('www-authenticate', request.routeOptions.config?.challenge?.(request) ?? 'Bearer');
    reply.status(response.status).send(response.body);
  });
  fastify.setNotFoundHandler((request, reply) => {
    const response = toRestResponse(
      new ApflowError('APF_ROUTE_NOT_FOUND', {
        message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
      }),
    );
    reply.status(response.status).send(response.body);
  });

  return {
    fastify,
    routes: () => routes,
    handle: (req, res) => listener(req, res),
  };
}

/**
 * Fastify's per-request lines ('incoming request', 'request completed') at `log.requests`
 * (debug by default) rather than info: at info they cost about 12% of a small read's
 * throughput (bench `http-read`). Failed requests are still logged at error.
 */
class RequestLogs extends LogController {
  constructor(private readonly requestLevel: 'info' | 'debug' | 'trace') {
    super();
  }

  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log[this.requestLevel]({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log[this.requestLevel]({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
