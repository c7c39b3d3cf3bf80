import { Readable } from 'node:stream';
import type { App } from '../app/create-app.ts';

/**
 * A `fetch` that answers from `app` in this process (Fastify's inject), for `apflow/client`: the
 * command line's local mode makes the same calls, and gets the same answers, as against a server.
 * Streamed answers (Server-Sent Events) come as they are written; aborting the signal ends them.
 */
export function injectFetch(app: App): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const response = await app.inject({
      method: (init.method ?? 'GET') as 'GET',
      url: `${url.pathname}${url.search}`,
      headers,
      ...(typeof init.body === 'string' ? { payload: init.body } : {}),
      payloadAsStream: true,
    });
    const stream = response.stream();
    const stop = () => stream.destroy(signal?.reason instanceof Error ? signal.reason : undefined);
    signal?.addEventListener('abort', stop, { once: true });
    stream.once('close', () => signal?.removeEventListener('abort', stop));
    const answerHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) answerHeaders.append(name, String(one));
    }
    const body = response.statusCode === 204 || response.statusCode === 304 ? null : Readable.toWeb(stream);
    return new Response(body as ReadableStream<Uint8Array> | null, {
      status: response.statusCode,
      headers: answerHeaders,
    });
  };
}
