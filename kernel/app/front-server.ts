import { createServer, type Server } from 'node:http';
import type { Generation } from './generation.ts';

/**
 * The one listening socket. Each request goes to the generation current when it arrives and
 * is counted there until its response closes, so a swapped-out generation can drain.
 * WebSocket upgrades are forwarded the same way.
 */
export function createFrontServer(current: () => Generation): Server {
  const server = createServer((req, res) => {
    const generation = current();
    generation.inflight++;
    res.once('close', () => {
      generation.inflight--;
    });
    generation.http.handle(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    current().http.fastify.server.emit('upgrade', req, socket, head);
  });
  return server;
}

/** Resolves once `generation` serves no request, or after `timeoutMs`. */
export async function drain(generation: Generation, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (generation.inflight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return generation.inflight === 0;
}
