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
    track(generation, res);
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

/** The requests each generation is serving: one promise per request, settled when its response closes. */
const serving = new WeakMap<Generation, Set<Promise<void>>>();

function track(generation: Generation, res: ServerResponse): void {
  const requests = serving.get(generation) ?? new Set<Promise<void>>();
  serving.set(generation, requests);
  const closed = new Promise<void>((resolve) =>
    res.once('close', () => {
      requests.delete(closed);
      generation.inflight = requests.size;
      resolve();
    }),
  );
  requests.add(closed);
  generation.inflight = requests.size;
}

/**
 * Resolves once `generation` serves no request (true), or after `timeoutMs` (false). Requests
 * that arrive while it waits are waited for too.
 */
export async function drain(generation: Generation, timeoutMs: number): Promise<boolean> {
  const requests = serving.get(generation) ?? new Set();
  // No grace (shutdown_timeout_s: 0) answers at once, without waiting for a timer.
  if (requests.size === 0 || timeoutMs <= 0) return requests.size === 0;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  try {
    while (requests.size > 0) {
      if ((await Promise.race([Promise.all(requests), deadline])) === 'late') return requests.size === 0;
    }
    return true;
  } finally {
    clearTimeout(timer);
  }
}
