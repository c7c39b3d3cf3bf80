import { ApflowError, defineExecutor, refusalDetail, Type } from 'apflow';
import { fetchFailure } from './fetch-failure.ts';

const Auth = Type.Union([
  Type.Object({ type: Type.Literal('bearer'), token: Type.String() }),
  Type.Object({ type: Type.Literal('basic'), username: Type.String(), password: Type.String() }),
  Type.Object({
    type: Type.Literal('apikey'),
    key: Type.String(),
    value: Type.String(),
    location: Type.Optional(Type.Union([Type.Literal('header'), Type.Literal('query')])),
  }),
]);

/**
 * `rest_executor`: one HTTP request; the result carries the status, headers and body. It goes
 * through the outbound policy (`ctx.outbound`): every connection, redirects included, is
 * checked, so a task cannot make the server call loopback, private or metadata addresses.
 */
export const restExecutor = defineExecutor({
  id: 'rest_executor',
  name: 'REST call',
  description:
    'Sends an HTTP request (url, method, headers, params, json/data, timeout, auth) and returns the response',
  inputSchema: Type.Object({
    url: Type.String({ pattern: '^https?://' }),
    method: Type.Optional(Type.Union(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'].map((m) => Type.Literal(m)))),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
    json: Type.Optional(Type.Unknown()),
    data: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    auth: Type.Optional(Auth),
  }),
  // Any header may carry a credential (Authorization, X-Api-Key, Cookie…): all are sealed.
  secretInputs: ['auth.token', 'auth.password', 'auth.value', 'headers'],
  async execute(inputs, ctx) {
    const url = new URL(inputs.url);
    for (const [key, value] of Object.entries(inputs.params ?? {})) url.searchParams.set(key, String(value));
    const headers = new Headers(inputs.headers ?? {});
    const auth = inputs.auth;
    if (auth?.type === 'bearer') headers.set('authorization', `Bearer ${auth.token}`);
    if (auth?.type === 'basic')
      headers.set('authorization', `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`);
    if (auth?.type === 'apikey') {
      if (auth.location === 'query') url.searchParams.set(auth.key, auth.value);
      else headers.set(auth.key, auth.value);
    }
    let body: string | undefined;
    if (inputs.json !== undefined) {
      body = JSON.stringify(inputs.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (inputs.data !== undefined) {
      body = inputs.data;
    }
    const method = inputs.method ?? (body === undefined ? 'GET' : 'POST');
    const timeoutS = inputs.timeout ?? 30;
    const timeout = AbortSignal.timeout(timeoutS * 1000);
    // No query string or credentials in messages: API keys may travel there.
    const target = `${method} ${url.origin}${url.pathname}`;
    let response: Awaited<ReturnType<typeof ctx.outbound.fetch>>;
    let text: string;
    try {
      response = await ctx.outbound.fetch(url, {
        method,
        headers: Object.fromEntries(headers),
        body,
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
      text = await response.text();
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (timeout.aborted && !refusalDetail(error))
        throw new ApflowError('APF_UNAVAILABLE', { message: `rest_executor: ${target} timed out after ${timeoutS}s` });
      throw fetchFailure('rest_executor', error, url, target);
    }
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return {
      url: url.href,
      method,
      status_code: response.status,
      headers: Object.fromEntries(response.headers),
      body: text,
      json,
      success: response.ok,
    };
  },
});
