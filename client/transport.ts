import { ApflowConnectionError, ApflowRpcError, ApflowTimeoutError, QuotaExceededError, rpcError } from './errors.ts';

/** A WebSocket class: the browser's, Node 22's global, or the `ws` package's. */
export type WebSocketClass = new (url: string) => WebSocket;

/** How {@link createClient} reaches a server. */
export interface ClientOptions {
  /** The server's address, e.g. `http://localhost:8000` (a path prefix is kept: `https://host/apflow/`). */
  baseUrl: string | URL;
  /** A bearer token, or a function giving the current one (called for every request). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** An LLM key sent as `X-LLM-API-KEY` (`key` or `provider:key`) with every request. */
  llmKey?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Headers added to every request. */
  headers?: Record<string, string>;
  /** How often a failed call that is safe to repeat is sent again (default 2). */
  maxRetries?: number;
  /** Milliseconds a call may take before it fails with ApflowTimeoutError (default 600000; streams: until their first byte). */
  timeout?: number;
  /** The WebSocket class for `subscribe` (default: the global one, else the `ws` package). */
  WebSocket?: WebSocketClass;
}

/** Options of one call. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Sent as `Idempotency-Key`: the server runs the call once per key; it also makes a create or execute safe to retry. */
  idempotencyKey?: string;
  timeout?: number;
  maxRetries?: number;
  headers?: Record<string, string>;
}

/** HTTP statuses worth another try: the server (or a proxy before it) may answer the next one. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);

/** What the client's parts share: the server's address, its headers, and requests with retries. */
export interface Transport {
  readonly options: ClientOptions;
  /** The absolute URL of `path` under the base URL. */
  url(path: string): URL;
  headers(extra?: Record<string, string>): Promise<Record<string, string>>;
  /**
   * Sends a request and resolves with its response (any status) once its headers came; sends it
   * again after a network failure or a 408/429/502/503/504 when `retry` is true.
   */
  request(path: string, init: RequestInit, options: CallOptions, retry: boolean): Promise<Response>;
  /** Waits the backoff of the `attempt`-th retry (or what `Retry-After` asked). */
  backoff(attempt: number, signal?: AbortSignal, retryAfter?: string | null): Promise<void>;
  /** The error for an answer that is not a success. */
  errorOf(response: Response, method: string): Promise<Error>;
}

/** Builds the {@link Transport} of a client. */
export function createTransport(options: ClientOptions): Transport {
  const base = new URL(String(options.baseUrl));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);

  const transport: Transport = {
    options,
    url: (path) => new URL(path, base),
    async headers(extra) {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      return {
        ...options.headers,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(options.llmKey ? { 'x-llm-api-key': options.llmKey } : {}),
        ...extra,
      };
    },
    async request(path, init, call, retry) {
      const attempts = retry ? (call.maxRetries ?? options.maxRetries ?? 2) : 0;
      for (let attempt = 0; ; attempt++) {
        const deadline = startDeadline(call.timeout ?? options.timeout ?? 600_000, call.signal);
        let response: Response;
        try {
          const headers = await transport.headers({ ...(init.headers as Record<string, string>), ...call.headers });
          // Never followed: a redirect would carry the token, the LLM key or a body to another address.
          response = await fetchFn(transport.url(path), {
            ...init,
            headers,
            signal: deadline.signal,
            redirect: 'manual',
          });
        } catch (error) {
          deadline.clear();
          if (call.signal?.aborted) throw call.signal.reason;
          const failure = deadline.timedOut()
            ? new ApflowTimeoutError(`${init.method ?? 'GET'} ${path} took longer than its timeout`)
            : new ApflowConnectionError(`cannot reach ${base.origin}: ${(error as Error).message}`, undefined, {
                cause: error,
              });
          if (attempt >= attempts) throw failure;
          await transport.backoff(attempt + 1, call.signal);
          continue;
        }
        // The deadline covers the answer's arrival; a stream is then read for as long as it lasts.
        deadline.clear();
        if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
          await response.body?.cancel().catch(() => undefined);
          throw new ApflowConnectionError(
            `${base.origin} answered ${path} with a redirect${response.headers.get('location') ? ` to ${response.headers.get('location')}` : ''}: give createClient the address it names`,
            response.status || undefined,
          );
        }
        if (!RETRY_STATUSES.has(response.status) || attempt >= attempts) return response;
        // A spent daily budget (-32001 on a 429) lasts until its reset: not worth another try.
        if (response.status === 429 && (await isQuotaAnswer(response.clone()))) return response;
        await response.body?.cancel().catch(() => undefined);
        await transport.backoff(attempt + 1, call.signal, response.headers.get('retry-after'));
      }
    },
    backoff(attempt, signal, retryAfter) {
      const asked = retryAfterMs(retryAfter);
      const ms = asked ?? Math.min(8000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
      return sleep(ms, signal);
    },
    async errorOf(response, method) {
      const body = (await response.json().catch(() => undefined)) as
        { error?: { code?: unknown; message?: unknown; data?: unknown } } | undefined;
      const error = body?.error;
      if (error && typeof error.message === 'string') {
        // REST routes answer {error: {code: 'APF_…'}}; JSON-RPC ones a numeric code.
        const code = typeof error.code === 'number' ? error.code : response.status === 404 ? -32004 : -32603;
        return rpcError({ code, message: error.message, data: error.data, status: response.status, method });
      }
      return new ApflowConnectionError(`${method}: HTTP ${response.status} from ${base.origin}`, response.status);
    },
  };
  return transport;
}

/** Sends a JSON-RPC call and answers its result, or throws the typed error of its answer. */
export async function callMethod(
  transport: Transport,
  endpoint: string,
  method: string,
  params: unknown,
  options: CallOptions,
  retry: boolean,
): Promise<unknown> {
  const response = await transport.request(
    endpoint,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId(), method, params: params ?? {} }),
    },
    options,
    retry,
  );
  if (!(response.headers.get('content-type') ?? '').includes('json')) throw await transport.errorOf(response, method);
  const body = (await response.json()) as {
    result?: unknown;
    error?: { code: number; message: string; data?: unknown };
  };
  if (body.error) throw rpcError({ ...body.error, status: response.status, method });
  if (!response.ok || !('result' in body)) throw await transport.errorOf(response, method);
  return body.result;
}

let lastId = 0;
/** A fresh JSON-RPC request id. */
export const nextId = (): number => ++lastId;

/**
 * Whether `error` is a response body cut short (fetch's TypeError: `terminated`, `network error`),
 * not a bug of the code reading it.
 */
export function cutShort(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /terminated|network|fetch failed|aborted|socket|other side closed/i.test(error.message)
  );
}

/** Whether `error` is worth another try of a call safe to repeat (a drop, not a refusal). */
export function retryable(error: unknown): boolean {
  if (error instanceof QuotaExceededError) return false;
  if (error instanceof ApflowRpcError) return error.status >= 500 || error.status === 429;
  return error instanceof ApflowConnectionError || error instanceof ApflowTimeoutError;
}

function startDeadline(ms: number, outer: AbortSignal | undefined) {
  const timer = new AbortController();
  let timedOut = false;
  // 0 or Infinity: no deadline (setTimeout would clamp them to 1 ms).
  const handle =
    ms > 0 && ms < 2 ** 31
      ? setTimeout(() => {
          timedOut = true;
          timer.abort(new ApflowTimeoutError(`the request took longer than ${ms} ms`));
        }, ms)
      : undefined;
  return {
    // The caller's signal still stops a stream after the deadline is cleared.
    signal: outer ? anySignal(outer, timer.signal) : timer.signal,
    timedOut: () => timedOut,
    clear: () => clearTimeout(handle),
  };
}

/** A signal aborted by either: AbortSignal.any where there is one (not in Safari < 17.4, Firefox < 124). */
export function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const both = new AbortController();
  for (const one of [a, b]) {
    if (one.aborted) both.abort(one.reason);
    else one.addEventListener('abort', () => both.abort(one.reason), { once: true });
  }
  return both.signal;
}

/** Milliseconds a `Retry-After` asks for (seconds, or an HTTP date), at most a minute; undefined when absent. */
function retryAfterMs(value: string | null | undefined): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Whether a 429 answer is the quotas plugin's (JSON-RPC -32001), not a rate limit. */
async function isQuotaAnswer(response: Response): Promise<boolean> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
  return body?.error?.code === -32001;
}
