import { isRecord } from 'apflow';
import type { AppDescription, RouteDescription } from 'apflow';
import { toJsonSchema } from './json-schema.ts';
import { ROUTE_NOTES, type RouteNote } from './route-notes.ts';
import { RPC_COMPONENTS, rpcOperation } from './rpc-paths.ts';

type Json = Record<string, unknown>;

/** What the document needs besides the routes and methods. */
export interface DocumentOptions {
  version: string;
  /** The server's public URL (`server.base_url`, else the request's scheme and host). */
  serverUrl: string;
  /** Authentication is on: declare the bearer scheme, required but on the public routes. */
  auth: boolean;
  /** The paths that need no token (the jwt-auth plugin's). */
  publicPaths: ReadonlySet<string>;
}

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', description: 'APF_…' }, message: { type: 'string' } },
    },
  },
};

/** OpenAPI's `{name}` for Fastify's `:name` and `*` (a regex constraint dropped). */
export function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = (url.startsWith('/') ? url : `/${url}`)
    .split('/')
    .map((segment) => {
      if (segment === '*') {
        params.push('wildcard');
        return '{wildcard}';
      }
      return segment.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, (_match, name: string) => {
        params.push(name);
        return `{${name}}`;
      });
    })
    .join('/');
  return { path, params };
}

/**
 * The OpenAPI 3.1 document of what this generation serves: every route (kernel and plugins, from
 * the `onRoute` record) and every JSON-RPC method with its params schema, one `POST` operation
 * per endpoint whose body is a `oneOf` of the methods' envelopes.
 */
export function buildDocument(description: AppDescription, options: DocumentOptions): Json {
  const paths: Record<string, Json> = {};
  const schemas: Json = { ...RPC_COMPONENTS, RestError: ERROR_BODY };
  const gets = new Set(description.routes.filter((route) => route.method === 'GET').map((route) => route.url));
  const fallbacks = new Map(description.fallbacks.map((entry) => [entry.endpoint, entry]));
  const operationIds = new Set<string>();

  for (const route of description.routes) {
    if (route.schema?.hide === true) continue;
    // Fastify adds HEAD to every GET: one operation documents both.
    if (route.method === 'HEAD' && gets.has(route.url)) continue;
    const { path, params } = openApiPath(route.url);
    let operation: Json;
    if (route.rpc) {
      const built = rpcOperation(
        route.url,
        description.rpc.filter((method) => method.endpoint === route.url),
        fallbacks.get(route.url),
      );
      Object.assign(schemas, built.schemas);
      operation = built.operation;
    } else {
      operation = restOperation(route, params, ROUTE_NOTES[`${route.method} ${route.url}`]);
    }
    operation.operationId = unique(operationIds, String(operation.operationId));
    if (options.auth) {
      if (options.publicPaths.has(path)) operation.security = [];
      // A WebSocket may open without a token and authenticate with its first message.
      else if (path === '/ws') operation.security = [{ bearerAuth: [] }, {}];
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'apflow',
      version: options.version,
      description:
        'Trees of tasks for AI agents and plain code: stored, run by pluggable executors, streamed. JSON-RPC endpoints list every method with its params schema in the request body (`oneOf`) and in `x-jsonrpc-methods`.',
    },
    servers: [{ url: options.serverUrl }],
    tags: [
      { name: 'JSON-RPC', description: 'JSON-RPC 2.0 endpoints: one POST per endpoint, the method in the body' },
      { name: 'HTTP', description: 'Plain HTTP routes' },
    ],
    paths,
    components: {
      schemas,
      ...(options.auth
        ? {
            securitySchemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description: 'POST /auth/login, or `apflow auth token`',
              },
            },
          }
        : {}),
    },
    ...(options.auth ? { security: [{ bearerAuth: [] }] } : {}),
  };
}

/** The operation of a plain route: its path params, and its Fastify schema where it has one. */
function restOperation(route: RouteDescription, pathParams: string[], note: RouteNote | undefined): Json {
  const schema = route.schema ?? {};
  const paramsSchema = objectOf(toJsonSchema(schema.params));
  const querySchema = objectOf(toJsonSchema(schema.querystring ?? schema.query));
  const pathProperties = objectOf(paramsSchema.properties);
  const parameters: Json[] = pathParams.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: pathProperties[name] ?? { type: 'string' },
  }));
  const required = new Set(
    Array.isArray(querySchema.required) ? querySchema.required.filter((key) => typeof key === 'string') : [],
  );
  for (const [name, sub] of Object.entries(objectOf(querySchema.properties))) {
    parameters.push({ name, in: 'query', required: required.has(name), schema: sub });
  }
  for (const query of note?.query ?? []) {
    if (!parameters.some((parameter) => parameter.name === query.name))
      parameters.push({
        name: query.name,
        in: 'query',
        required: false,
        description: query.description,
        schema: query.schema,
      });
  }
  const operation: Json = {
    operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+/g, '_')}`,
    tags: ['HTTP'],
    summary: note?.summary ?? `${route.method} ${route.url}`,
    ...(note?.description ? { description: note.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    responses: responses(schema.response, note),
  };
  if (schema.body !== undefined)
    operation.requestBody = { required: true, content: { 'application/json': { schema: toJsonSchema(schema.body) } } };
  else if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
    operation.requestBody = { content: { 'application/json': { schema: {} } } };
  }
  return operation;
}

/** Responses from a Fastify `response` schema (status → schema), else a plain 200. */
function responses(response: unknown, note: RouteNote | undefined): Json {
  const out: Json = {};
  if (response && typeof response === 'object') {
    for (const [status, sub] of Object.entries(response)) {
      const code = /^[1-5]([0-9]{2}|XX)$/.test(status) ? status : status === '2xx' ? '2XX' : 'default';
      out[code] = { description: `${status} response`, content: { 'application/json': { schema: toJsonSchema(sub) } } };
    }
  }
  if (Object.keys(out).length === 0) {
    out['200'] = {
      description: 'OK',
      content: { [note?.produces ?? 'application/json']: { schema: note?.produces ? { type: 'string' } : {} } },
    };
  }
  out.default ??= {
    description: 'An error: `{"error": {"code": "APF_…", "message"}}`',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/RestError' } } },
  };
  return out;
}

function unique(taken: Set<string>, id: string): string {
  let candidate = id;
  for (let n = 2; taken.has(candidate); n++) candidate = `${id}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** `value` when it is an object; else an empty one (a boolean schema has no properties to read). */
function objectOf(value: unknown): Json {
  return isRecord(value) ? value : {};
}
