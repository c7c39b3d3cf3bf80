import type { FastifyReply, FastifyRequest } from 'apflow';
import type { Dispatcher } from 'undici';
import { HOP_HEADER } from './owner-listener.ts';

// Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own connection.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'host',
  'content-length',
]);

/**
 * Hands an MCP request to the process that holds its session (`ownerUrl`, a loopback listener on
 * this host) and streams its answer back: server streams stay open as long as the client keeps
 * them. Resolves false when that process is gone (nothing was answered yet).
 */
export async function handOver(ownerUrl: string, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const headers: Record<string, string> = { [HOP_HEADER]: '1' };
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const abort = new AbortController();
  reply.raw.once('close', () => abort.abort());
  // undici (1 MB) loads with the first hand-over, which only several processes on one host make.
  const { request: send } = await import('undici');
  let answer: Dispatcher.ResponseData;
  try {
    answer = await send(`${ownerUrl}${request.url}`, {
      method: request.method as 'GET' | 'POST' | 'DELETE',
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: abort.signal,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') return false;
    throw error;
  }
  reply.hijack();
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  reply.raw.writeHead(answer.statusCode, out);
  reply.raw.flushHeaders();
  answer.body.on('data', (chunk: Buffer) => reply.raw.write(chunk));
  answer.body.once('end', () => reply.raw.end());
  answer.body.once('error', () => reply.raw.destroy());
  reply.raw.once('close', () => answer.body.destroy());
  return true;
}
