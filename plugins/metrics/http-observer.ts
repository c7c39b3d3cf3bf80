import { isRecord } from 'apflow';
import type { FastifyReply, FastifyRequest, PluginApp } from 'apflow';
import type { MetricSet } from './metric-set.ts';

/** Route patterns of the event streams, by channel. */
const STREAM_ROUTES: Record<string, string> = { '/tasks/:task_id/events': 'sse', '/ws': 'websocket' };
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** A method name a fallback (A2A) answered may become a label if it looks like one… */
const METHOD_NAME = /^[A-Za-z][\w./-]{0,63}$/;
/** …and while the endpoint has fewer than this many such names. */
const MAX_FALLBACK_NAMES = 64;

/** Open streams by channel, as the HTTP observer counts them. */
export type StreamCounts = Map<string, number>;

/**
 * Observes every HTTP request of the generation through Fastify's own hooks (the `request` hook
 * has no response): requests by route pattern, method and status with their latency; JSON-RPC
 * calls by method and code (from the body and the response of each JSON-RPC route); and the
 * open event streams (SSE and WebSocket routes) until their socket closes.
 */
export function observeHttp(app: PluginApp, metrics: MetricSet, streams: StreamCounts): void {
  const fallbackNames = new Map<string, Set<string>>();

  app.http.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const channel = STREAM_ROUTES[request.routeOptions.url ?? ''];
    if (!channel || request.method !== 'GET') return;
    streams.set(channel, (streams.get(channel) ?? 0) + 1);
    // A WebSocket outlives its HTTP exchange: its socket closing is the end of the stream.
    const closes = channel === 'websocket' ? request.raw.socket : reply.raw;
    closes.once('close', () => streams.set(channel, (streams.get(channel) ?? 1) - 1));
  });

  app.http.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const method = HTTP_METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.httpRequests.inc({ route, method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method }, reply.elapsedTime / 1000);
  });

  app.http.addHook('onSend', async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
    if (request.routeOptions.config?.rpc === true && typeof payload === 'string') {
      recordRpcCalls(request.routeOptions.url ?? '(unmatched)', request.body, payload);
    }
    return payload;
  });

  /** A bounded label for a method name: registered names as they are, anything else grouped. */
  const methodLabel = (endpoint: string, name: unknown, code: number): string => {
    if (typeof name !== 'string') return '(invalid)';
    if (app.rpc.has(endpoint, name)) return name;
    if (code === -32601 || code === -32600 || !METHOD_NAME.test(name)) return '(unknown)';
    let names = fallbackNames.get(endpoint);
    if (!names) fallbackNames.set(endpoint, (names = new Set()));
    if (!names.has(name) && names.size >= MAX_FALLBACK_NAMES) return '(other)';
    names.add(name);
    return name;
  };

  const recordRpcCalls = (endpoint: string, body: unknown, payload: string) => {
    const calls = parse(typeof body === 'string' ? body : '');
    const answers = parse(payload);
    const codeOf = (answer: unknown): number => {
      const error = isRecord(answer) ? answer.error : undefined;
      return isRecord(error) && typeof error.code === 'number' ? error.code : 0;
    };
    const count = (call: unknown, answer: unknown) => {
      const code = codeOf(answer);
      const name = isRecord(call) ? call.method : undefined;
      metrics.rpcCalls.inc({ endpoint, method: methodLabel(endpoint, name, code), code: String(code) });
    };
    // A batch is answered in order, one answer per call; an empty or oversized one gets one error.
    if (Array.isArray(calls) && Array.isArray(answers) && calls.length === answers.length) {
      calls.forEach((call, index) => count(call, answers[index]));
    } else {
      count(Array.isArray(calls) ? undefined : calls, Array.isArray(answers) ? answers[0] : answers);
    }
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
