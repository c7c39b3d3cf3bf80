import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/** Requests that arrived as an upgrade: their socket left Node's HTTP machinery. */
const upgradeRequests = new WeakSet<IncomingMessage>();

/**
 * The sockets of upgrade requests. Node hands such a socket over without its HTTP parser, so
 * nothing ends it after an HTTP answer and `server.closeAllConnections()` does not see it: the
 * front server tracks them and ends them itself.
 */
export interface UpgradeSockets {
  /** Starts tracking the socket of an upgrade request. */
  track(req: IncomingMessage, socket: Duplex): void;
  /** Upgrade sockets still open (answered, upgrading or live WebSockets). */
  readonly size: number;
  /**
   * Waits up to `timeoutMs` for the open upgrade sockets to close (WebSockets were told to go
   * away), then destroys the rest.
   */
  close(timeoutMs: number): Promise<void>;
}

/** Creates the front server's set of upgrade sockets. */
export function createUpgradeSockets(): UpgradeSockets {
  const open = new Set<Duplex>();
  return {
    track(req, socket) {
      upgradeRequests.add(req);
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // Node removed its own error listener before the hand-over; a reset must not crash the process.
      socket.on('error', () => socket.destroy());
    },
    get size() {
      return open.size;
    },
    async close(timeoutMs) {
      const closed = Promise.all([...open].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
      await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      for (const socket of open) socket.destroy();
    },
  };
}

/**
 * Ends the socket of every upgrade request answered over HTTP (any status, any route, a refusal
 * by a hook included), once the answer is written: the socket became no WebSocket and nobody
 * else will close it. A WebSocket route takes the socket over without an HTTP answer, so its
 * connection is not touched. Added on the generation's root, it covers every route and scope.
 */
export function endAnsweredUpgrades(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', (request, _reply, done) => {
    const socket = request.raw.socket;
    // After the answer is flushed; the client may keep its side open, so destroy, not just end.
    if (upgradeRequests.has(request.raw) && !socket.destroyed) socket.end(() => socket.destroy());
    done();
  });
}
