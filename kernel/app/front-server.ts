import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Generation } from './generation.ts';
import { createUpgradeSockets, type UpgradeSockets } from './upgrade-sockets.ts';

/** The listening socket and the upgrade sockets it handed over (for shutdown). */
export interface FrontServer {
  server: Server;
  upgrades: UpgradeSockets;
}

/**
 * The one listening socket. Each request goes to the generation current when it arrives and
 * is counted there until its response closes, so a swapped-out generation can drain.
 * WebSocket upgrades are forwarded the same way; their sockets are tracked, and one answered
 * over HTTP instead of upgraded is closed after the answer (see `endAnsweredUpgrades`).
 */
export function createFrontServer(current: () => Generation): FrontServer {
  const upgrades = createUpgradeSockets();
  const serve = (generation: Generation, req: IncomingMessage, res: ServerResponse) => {
    generation.inflight++;
    res.once('close', () => {
      generation.inflight--;
    });
    generation.http.handle(req, res);
  };
  const server = createServer((req, res) => serve(current(), req, res));
  server.on('upgrade', (req, socket, head) => {
    upgrades.track(req, socket);
    const generation = current();
    const target = generation.http.fastify.server;
    if (target.listenerCount('upgrade') > 0) return void target.emit('upgrade', req, socket, head);
    // No plugin takes upgrades: answer it as the plain request it also is.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    serve(generation, req, res);
  });
  return { server, upgrades };
}

/** Resolves once `generation` serves no request, or after `timeoutMs`. */
export async function drain(generation: Generation, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (generation.inflight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return generation.inflight === 0;
}
