import { ApflowError, isRecord, type ErrorCode, type ExecutorContext } from 'apflow';
import { fetchFailure } from './fetch-failure.ts';

/** The executor's id, which starts every message. */
export const ID = 'apflow_api_executor';

/** A response of `ctx.outbound.fetch`. */
export type RemoteResponse = Awaited<ReturnType<ExecutorContext['outbound']['fetch']>>;

/** The most bytes of one JSON answer read (as for one event-stream frame): past it the call fails. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;
/** The most bytes of an error answer read for its message. */
const MAX_ERROR_BYTES = 64 * 1024;
/** The most characters of a remote's text (error, progress message) passed on. */
export const MAX_REMOTE_TEXT = 2000;

/** How to reach the remote apflow server. */
export interface RemoteOptions {
  base_url: string;
  auth_token?: string;
  headers?: Record<string, string>;
}

/** A remote apflow server, called the way a JSON-RPC client calls it, through the outbound policy. */
export interface Remote {
  /** The base URL without query or credentials, for results and messages. */
  readonly base: string;
  /** POSTs one JSON-RPC call; the answer may be JSON or an event stream (checked for HTTP errors). */
  post(method: string, params: unknown, signal: AbortSignal): Promise<RemoteResponse>;
  /** One JSON-RPC call answered with JSON: its `result`; a JSON-RPC error is thrown. */
  call(method: string, params: unknown, signal: AbortSignal): Promise<unknown>;
  /** `GET /tasks/{rootId}/events` after `lastSeq` (`Last-Event-ID`): the tree's event stream. */
  events(rootId: string, lastSeq: number, signal: AbortSignal): Promise<RemoteResponse>;
  /** The `result` of a JSON answer of `method`, or the error it carries (thrown). */
  answer(response: RemoteResponse, method: string): Promise<unknown>;
}

// Methods of `POST /` (A2A and the guide's execute_task_tree) and `POST /system`; the rest are `POST /tasks`.
const endpointOf = (method: string) =>
  method === 'execute_task_tree' ? '/' : /^(system|config)\./.test(method) ? '/system' : '/tasks';

/** Builds the client of the remote at `options.base_url` for one task. */
export function createRemote(ctx: ExecutorContext, options: RemoteOptions): Remote {
  const baseUrl = new URL(options.base_url);
  if (baseUrl.username || baseUrl.password)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: base_url must not carry credentials; give the token as auth_token`,
    });
  const prefix = baseUrl.pathname.replace(/\/+$/, '');
  const base = `${baseUrl.origin}${prefix}`;
  const url = (path: string) => `${base}${path === '/' && prefix ? '' : path}`;
  const headers = (extra: Record<string, string>) => {
    const all = new Headers(options.headers ?? {});
    for (const [name, value] of Object.entries(extra)) all.set(name, value);
    if (options.auth_token) all.set('authorization', `Bearer ${options.auth_token}`);
    return Object.fromEntries(all);
  };
  let next = 0;

  const send = async (
    target: string,
    href: string,
    init: { method: string; body?: string },
    extra: Record<string, string>,
    signal: AbortSignal,
  ) => {
    let response: RemoteResponse;
    try {
      // Never followed: the token, secret headers and the body would go along to wherever it points.
      response = await ctx.outbound.fetch(href, { ...init, headers: headers(extra), signal, redirect: 'manual' });
    } catch (error) {
      if (signal.aborted) throw error;
      throw fetchFailure(ID, error, new URL(href), target);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw redirectError(response, target, href);
    }
    if (!response.ok) throw await httpError(response, target, options.auth_token !== undefined);
    return response;
  };

  const remote: Remote = {
    base,
    post(method, params, signal) {
      const path = endpointOf(method);
      const body = JSON.stringify({ jsonrpc: '2.0', id: `${ID}-${++next}`, method, params });
      const accept = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      return send(`POST ${url(path)} (${method})`, url(path), { method: 'POST', body }, accept, signal);
    },
    async call(method, params, signal) {
      return remote.answer(await remote.post(method, params, signal), method);
    },
    events(rootId, lastSeq, signal) {
      const href = url(`/tasks/${encodeURIComponent(rootId)}/events`);
      const extra = { accept: 'text/event-stream', 'last-event-id': String(lastSeq) };
      return send(`GET ${href}`, href, { method: 'GET' }, extra, signal);
    },
    async answer(response, method) {
      const text = await readCapped(response, MAX_REPLY_BYTES);
      if (text === undefined)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: ${method} on ${base} answered more than ${MAX_REPLY_BYTES / 1024 / 1024} MiB (is base_url an apflow server?)`,
        });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: ${method} on ${base} answered something that is not JSON-RPC (is base_url an apflow server?)`,
        });
      }
      if (isRecord(body) && isRecord(body.error)) throw rpcError(body.error, `${method} on ${base}`);
      if (!isRecord(body) || !('result' in body))
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: ${method} on ${base} answered without a JSON-RPC result (is base_url an apflow server?)`,
        });
      return body.result;
    },
  };
  return remote;
}

/** An HTTP error status, with what the remote said (its JSON-RPC error) and how to fix it. */
async function httpError(response: RemoteResponse, target: string, tokenGiven: boolean): Promise<ApflowError> {
  const said = await readCapped(response, MAX_ERROR_BYTES)
    .then((text) => (text === undefined ? '' : remoteSays(text)))
    .catch(() => '');
  const status = `HTTP ${response.status}${said ? `: ${said}` : ''}`;
  if (response.status === 401)
    return new ApflowError('APF_FORBIDDEN', {
      message: `${ID}: ${target} refused the credentials (${status}); ${tokenGiven ? 'the auth_token given is not accepted there: give a valid, unexpired token of that server' : 'no auth_token was given: that server requires one'}`,
    });
  const code: ErrorCode =
    response.status === 403
      ? 'APF_FORBIDDEN'
      : response.status === 404
        ? 'APF_NOT_FOUND'
        : response.status < 500 && response.status !== 429
          ? 'APF_INVALID_PARAMS'
          : 'APF_UNAVAILABLE';
  const hint = response.status === 404 ? ' (is base_url an apflow server, with the tasks API on?)' : '';
  return new ApflowError(code, { message: `${ID}: ${target} answered ${status}${hint}` });
}

/** The message (and string data) of a JSON-RPC error body, shortened; '' when the body is not one. */
function remoteSays(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && isRecord(body.error)) return describeRpcError(body.error);
    if (isRecord(body) && typeof body.message === 'string') return clip(body.message);
  } catch {
    // not JSON: the status says enough
  }
  return '';
}

/** A remote's text, at most MAX_REMOTE_TEXT characters. */
export const clip = (text: string) => (text.length > MAX_REMOTE_TEXT ? `${text.slice(0, MAX_REMOTE_TEXT)}…` : text);

/**
 * The body as text, or undefined when it is longer than `maxBytes` (the rest is then not
 * downloaded: the response is cancelled).
 */
async function readCapped(response: RemoteResponse, maxBytes: number): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!response.body) return '';
  for await (const chunk of response.body) {
    size += chunk.length;
    // Leaving the loop cancels the stream.
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

/** A redirect answer: never followed, named without its query (it may carry a token). */
function redirectError(response: RemoteResponse, target: string, href: string): ApflowError {
  let to = 'elsewhere';
  try {
    const location = new URL(response.headers.get('location') ?? '', href);
    to = `${location.origin}${location.pathname}`;
  } catch {
    // no usable Location: the status says enough
  }
  return new ApflowError('APF_INVALID_PARAMS', {
    message: `${ID}: ${target} answered HTTP ${response.status} redirecting to ${to}; redirects are not followed (the token and headers would go along): give the final URL as base_url`,
  });
}

function describeRpcError(error: Record<string, unknown>): string {
  const message = typeof error.message === 'string' ? error.message : 'error';
  const data = typeof error.data === 'string' && error.data !== message ? ` (${error.data})` : '';
  return clip(`${message}${data}`);
}

/** A JSON-RPC error of the remote, as this task's error (its code kept: a refusal is not retried). */
export function rpcError(error: Record<string, unknown>, what: string): ApflowError {
  const byCode: Record<number, ErrorCode> = {
    [-32602]: 'APF_INVALID_PARAMS',
    [-32601]: 'APF_INVALID_PARAMS',
    [-32600]: 'APF_INVALID_PARAMS',
    [-32001]: 'APF_FORBIDDEN',
    [-32003]: 'APF_FORBIDDEN',
    [-32004]: 'APF_NOT_FOUND',
  };
  const code = (typeof error.code === 'number' && byCode[error.code]) || 'APF_UNAVAILABLE';
  return new ApflowError(code, { message: `${ID}: ${what} failed: ${describeRpcError(error)}` });
}
