import type { AppDescription, RpcMethodDescription } from 'apflow';
import { toJsonSchema } from './json-schema.ts';
import { ENDPOINT_NOTES } from './route-notes.ts';

/** A fallback, as the kernel describes it. */
type Fallback = AppDescription['fallbacks'][number];

type Json = Record<string, unknown>;

/** A JSON-RPC id: a string, a number or null. */
const ID = { type: ['string', 'number', 'null'], description: 'echoed in the response' };

/** The shared response schemas, under `components.schemas`. */
export const RPC_COMPONENTS: Json = {
  JsonRpcResponse: {
    type: 'object',
    description:
      'A JSON-RPC 2.0 response: `result` on success, `error` otherwise (a batch is answered with an array of these).',
    required: ['jsonrpc', 'id'],
    properties: {
      jsonrpc: { const: '2.0' },
      id: ID,
      result: { description: "the method's result" },
      error: { $ref: '#/components/schemas/JsonRpcError' },
    },
  },
  JsonRpcError: {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: {
        type: 'integer',
        description:
          '-32700 parse, -32600 invalid request, -32601 no method, -32602 invalid params, -32603 internal, -32001 unauthenticated, -32003 forbidden, -32004 not found, -32005 conflict, -32029 rate limited',
      },
      message: { type: 'string' },
      data: {},
    },
  },
};

/** A component name for one method's envelope (`[A-Za-z0-9._-]` only). */
export function envelopeName(endpoint: string, method: string): string {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '_');
  return `rpc.${endpoint === '/' ? 'root' : clean(endpoint.slice(1))}.${clean(method)}`;
}

/** The envelope `{jsonrpc: "2.0", id, method: <name>, params: <schema>}` of one method. */
export function envelope(method: RpcMethodDescription): Json {
  return {
    type: 'object',
    title: method.method,
    ...(method.description ? { description: method.description } : {}),
    required: ['jsonrpc', 'method'],
    properties: {
      jsonrpc: { const: '2.0' },
      id: ID,
      method: { const: method.method },
      params: method.params ? toJsonSchema(method.params) : { description: 'none' },
    },
    'x-plugin': method.plugin,
  };
}

/** The envelope of the calls a fallback answers (A2A's methods on `/`), as the fallback describes them. */
function fallbackEnvelope(fallback: Fallback, registered: string[]): Json {
  const plugin = fallback.plugin;
  return {
    type: 'object',
    title: fallback.title ?? `methods answered by ${plugin}`,
    description:
      fallback.description ??
      `Every method of this endpoint that no plugin registered is answered by the ${plugin} plugin.`,
    required: ['jsonrpc', 'method'],
    properties: {
      jsonrpc: { const: '2.0' },
      id: ID,
      method: fallback.methods
        ? { type: 'string', enum: [...fallback.methods] }
        : { type: 'string', not: { enum: registered } },
      params: { type: 'object' },
    },
    'x-plugin': plugin,
  };
}

/** The operation of `POST <endpoint>` and the envelope schemas it refers to. */
export function rpcOperation(
  endpoint: string,
  methods: RpcMethodDescription[],
  answered: Fallback | undefined,
): { operation: Json; schemas: Json } {
  const fallback = answered?.plugin;
  const schemas: Json = {};
  const refs: Json[] = [];
  for (const method of methods) {
    const name = envelopeName(endpoint, method.method);
    schemas[name] = envelope(method);
    refs.push({ $ref: `#/components/schemas/${name}` });
  }
  const fallbackSchema =
    answered && fallback
      ? fallbackEnvelope(
          answered,
          methods.map((method) => method.method),
        )
      : undefined;
  if (fallbackSchema) {
    const name = envelopeName(endpoint, `fallback.${fallback}`);
    schemas[name] = fallbackSchema;
    refs.push({ $ref: `#/components/schemas/${name}` });
  }
  const call = { oneOf: refs };
  const list = methods.map((method) => `- \`${method.method}\`${method.description ? `: ${method.description}` : ''}`);
  if (fallbackSchema)
    list.push(`- any other method: answered by the \`${fallback}\` plugin (${String(fallbackSchema.description)})`);
  const examples = Object.fromEntries(
    methods.map((method) => [
      method.method.replace(/[^A-Za-z0-9._-]/g, '_'),
      { summary: method.method, value: { jsonrpc: '2.0', id: 1, method: method.method, params: {} } },
    ]),
  );
  const response = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/JsonRpcResponse' } } },
  });
  const operation: Json = {
    operationId: `rpc${endpoint === '/' ? '_root' : endpoint.replace(/[^A-Za-z0-9]/g, '_')}`,
    tags: ['JSON-RPC'],
    summary: `JSON-RPC ${endpoint}: ${methods.map((method) => method.method).join(', ')}${fallback ? `, and ${fallback}'s methods` : ''}`,
    description: [
      ENDPOINT_NOTES[endpoint] ?? '',
      'A JSON-RPC 2.0 call, or a batch (an array of calls). Errors are answered with HTTP 200 and a JSON-RPC error, except 401, 413, 429 and 503. Methods:',
      '',
      ...list,
    ].join('\n'),
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: { oneOf: [call, { type: 'array', minItems: 1, items: call }] },
          ...(methods.length ? { examples } : {}),
        },
      },
    },
    responses: {
      200: {
        description:
          'The JSON-RPC response (an array for a batch); a streaming call (`use_streaming: true`, A2A streams) answers Server-Sent Events',
        content: {
          'application/json': {
            schema: {
              oneOf: [
                { $ref: '#/components/schemas/JsonRpcResponse' },
                { type: 'array', items: { $ref: '#/components/schemas/JsonRpcResponse' } },
              ],
            },
          },
          'text/event-stream': { schema: { type: 'string' } },
        },
      },
      401: response('Authentication required (-32001)'),
      413: response('The body is larger than server.body_limit'),
      429: response('Too many requests'),
      503: response('A dependency (the database) is down'),
    },
    'x-jsonrpc-methods': methods.map((method) => ({
      method: method.method,
      plugin: method.plugin,
      ...(method.description ? { description: method.description } : {}),
    })),
  };
  return { operation, schemas };
}
