import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { version } from 'apflow';
import { rpc, tempProject, testApp } from '../helpers.ts';

const SECRET = 'api-docs-test-secret-long-enough-for-hs256!';

/**
 * A plugin that adds a route with a Fastify schema, a JSON-RPC method whose params carry an `$id`,
 * and `GET /probe/describe`: what `app.describe()` answers, as JSON.
 */
const PROBE = `
import { definePlugin, Type } from 'apflow';
export default definePlugin({
  name: 'probe',
  setup(app) {
    app.http.post('/probe/items/:item_id', {
      schema: {
        params: Type.Object({ item_id: Type.String({ minLength: 3 }) }),
        querystring: Type.Object({ verbose: Type.Optional(Type.Boolean()) }),
        body: Type.Object({ name: Type.String() }),
      },
    }, async (request) => ({ id: request.params.item_id }));
    app.rpc.method('/system', 'probe.echo', {
      description: 'Echoes its text',
      params: Type.Object({ text: Type.String({ maxLength: 10 }), times: Type.Optional(Type.Integer({ minimum: 1 })) }, { $id: 'ProbeEcho' }),
      handler: (params) => params.text,
    });
    app.http.get('/probe/describe', async () => app.describe());
  },
});
`;

/** The parts of an OpenAPI document and its schemas the tests look at. */
interface SchemaObject {
  $id?: string;
  $ref?: string;
  description?: string;
  type?: unknown;
  const?: unknown;
  maxLength?: number;
  properties?: Record<string, SchemaObject>;
  oneOf?: SchemaObject[];
}
interface Operation {
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean; schema: SchemaObject }[];
  requestBody?: { content: Record<string, { schema: SchemaObject }> };
  'x-jsonrpc-methods'?: { method: string; plugin: string; description?: string }[];
}
interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  servers: { url: string }[];
  security?: unknown[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaObject>; securitySchemes?: Record<string, Record<string, unknown>> };
}
interface Described {
  routes: { method: string; url: string; rpc: boolean; schema?: { hide?: boolean } }[];
  rpc: { endpoint: string; method: string; description?: string; params?: SchemaObject; plugin: string }[];
  fallbacks: { endpoint: string; plugin: string }[];
}

async function start(t: TestContext, inline: Record<string, unknown> = {}) {
  const dir = tempProject(t, { 'probe.ts': PROBE });
  const app = await testApp(t, { plugins: [join(dir, 'probe.ts')], ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** The operation `method path` of the document (failing the test when it is missing). */
function operationOf(doc: OpenApiDocument, path: string, method: string): Operation {
  const operation = doc.paths[path]?.[method];
  assert.ok(operation, `${method} ${path} is documented`);
  return operation;
}

/** Checks the document against the OpenAPI schema, and every schema in it against JSON Schema 2020-12. */
async function assertValidOpenApi(doc: OpenApiDocument) {
  const validator = new Validator();
  const result = await validator.validate({ ...doc });
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');
  const ajv = new Ajv2020({ strict: false });
  const schemas: [string, SchemaObject][] = Object.entries(doc.components.schemas);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const parameter of operation.parameters ?? [])
        schemas.push([`${method} ${path} ${parameter.name}`, parameter.schema]);
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {}))
        schemas.push([`${method} ${path} body ${type}`, media.schema]);
    }
  }
  for (const [where, schema] of schemas)
    assert.equal(ajv.validateSchema(schema), true, `${where}: ${ajv.errorsText()}`);
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

test('/openapi.json is a valid OpenAPI 3.1 document with every route and every JSON-RPC method with its params schema', async (t) => {
  const { url } = await start(t);
  const { status, body: doc } = await getJson<OpenApiDocument>(`${url}/openapi.json`);
  assert.equal(status, 200);
  await assertValidOpenApi(doc);
  assert.equal(doc.info.version, version);
  assert.deepEqual(doc.servers, [{ url }]);
  assert.equal(doc.security, undefined, 'no security requirement with authentication off');

  const described = (await getJson<Described>(`${url}/probe/describe`)).body;
  // Every route the kernel recorded (HEAD is Fastify's twin of each GET).
  const routes = described.routes.filter((route) => route.method !== 'HEAD' && route.schema?.hide !== true);
  for (const path of [
    '/tasks',
    '/system',
    '/',
    '/health',
    '/docs',
    '/openapi.json',
    '/ws',
    '/tasks/:task_id/status',
    '/tasks/:task_id/events',
    '/.well-known/agent-card.json',
  ]) {
    assert.ok(
      routes.some((route) => route.url === path),
      `describe() lists ${path}`,
    );
  }
  for (const route of routes) {
    operationOf(doc, openApiPath(route.url), route.method.toLowerCase());
  }
  assert.equal(
    Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0),
    routes.length,
    'and nothing else',
  );

  // Every registered method of every endpoint, its params schema as the code validates with.
  const methods = described.rpc;
  assert.ok(methods.filter((method) => method.endpoint === '/tasks').length >= 17);
  assert.ok(methods.some((method) => method.endpoint === '/system' && method.method === 'system.health'));
  for (const method of methods) {
    const operation = operationOf(doc, method.endpoint, 'post');
    assert.ok(
      operation['x-jsonrpc-methods']?.some((entry) => entry.method === method.method),
      `${method.endpoint} ${method.method} in x-jsonrpc-methods`,
    );
    assert.ok(
      operation.description?.includes(`\`${method.method}\``),
      `${method.method} in the endpoint's description`,
    );
    const calls = operation.requestBody?.content['application/json']?.schema.oneOf?.[0]?.oneOf ?? [];
    const envelope = calls
      .map((ref) => doc.components.schemas[ref.$ref?.split('/').pop() ?? ''])
      .find((schema) => schema?.properties?.method?.const === method.method);
    assert.ok(envelope, `${method.endpoint} ${method.method} has an envelope in the body's oneOf`);
    assert.equal(envelope.description, method.description);
    if (method.params) {
      const { $id: _id, ...params } = method.params;
      assert.deepEqual(envelope.properties?.params, params, `${method.method}: the params schema`);
    }
  }
  const echo = doc.components.schemas['rpc.system.probe.echo']?.properties?.params;
  assert.equal(echo?.$id, undefined, '$id is stripped');
  assert.equal(echo?.properties?.text?.maxLength, 10);

  // A2A's methods on POST / (the a2a plugin's fallback) are named there too.
  const root = operationOf(doc, '/', 'post');
  assert.match(root.description ?? '', /message\/send/);
  assert.match(root.description ?? '', /SendMessage/);

  // A route's Fastify schema: path and query parameters, body.
  const probe = operationOf(doc, '/probe/items/{item_id}', 'post');
  assert.deepEqual(
    probe.parameters?.find((p) => p.name === 'item_id'),
    { name: 'item_id', in: 'path', required: true, schema: { type: 'string', minLength: 3 } },
  );
  assert.deepEqual(
    probe.parameters?.find((p) => p.name === 'verbose'),
    { name: 'verbose', in: 'query', required: false, schema: { type: 'boolean' } },
  );
  assert.deepEqual(probe.requestBody?.content['application/json']?.schema, {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string' } },
  });
});

test('GET /docs is Swagger UI loading its files from this server', async (t) => {
  const { url } = await start(t);
  const page = await fetch(`${url}/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no file from another host');
  const files = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(
    (match) => new URL(match[1] as string, `${url}/docs`).href,
  );
  assert.ok(files.some((file) => file.includes('swagger-ui-bundle.js')));
  assert.ok(files.some((file) => file.includes('swagger-ui.css')));
  for (const file of files) {
    const response = await fetch(file);
    assert.equal(response.status, 200, file);
    assert.ok((await response.arrayBuffer()).byteLength > 0, file);
  }
  const initializer = await (await fetch(`${url}/docs?asset=initializer.js`)).text();
  assert.match(initializer, /\/openapi\.json/);
  const unknown = await getJson<{ error: { code: string } }>(`${url}/docs?asset=../../package.json`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'APF_NOT_FOUND');
});

test('with authentication on, /docs, its files and /openapi.json need no token; the document declares bearer auth', async (t) => {
  const { url } = await start(t, { auth: { jwt_secret: SECRET }, server: { base_url: 'https://apflow.example.com/' } });
  assert.equal(
    (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.count' })).status,
    401,
    'the rest still needs one',
  );

  const { status, body: doc } = await getJson<OpenApiDocument>(`${url}/openapi.json`);
  assert.equal(status, 200);
  await assertValidOpenApi(doc);
  assert.deepEqual(doc.servers, [{ url: 'https://apflow.example.com' }]);
  assert.deepEqual(
    { ...doc.components.securitySchemes?.bearerAuth, description: undefined },
    { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: undefined },
  );
  assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
  for (const [path, method] of [
    ['/health', 'get'],
    ['/auth/login', 'post'],
    ['/docs', 'get'],
    ['/openapi.json', 'get'],
    ['/.well-known/agent-card.json', 'get'],
  ] as const) {
    assert.deepEqual(operationOf(doc, path, method).security, [], `${method} ${path} is public`);
  }
  for (const path of ['/tasks', '/system', '/'])
    assert.equal(operationOf(doc, path, 'post').security, undefined, `${path} needs the token`);

  const page = await fetch(`${url}/docs`);
  assert.equal(page.status, 200);
  for (const match of (await page.text()).matchAll(/(?:src|href)="([^"]+)"/g)) {
    const file = new URL(match[1] as string, `${url}/docs`).href;
    assert.equal((await fetch(file)).status, 200, file);
  }
});
