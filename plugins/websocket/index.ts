import fastifyWebsocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { ApflowError, definePlugin, isTrustedOrigin, version, type FastifyRequest } from 'apflow';
import { handleConnection } from './connection.ts';
import { createConnectionsPerAddress } from './connection-limits.ts';
import { Settings } from './settings.ts';

/** `GET /ws`: subscribe to task events and send JSON-RPC requests over one WebSocket. */
export default definePlugin({
  name: 'websocket',
  version,
  config: { key: 'websocket', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const corsOrigins = app.config.server.cors_origins ?? [];
    const perAddress = createConnectionsPerAddress(settings.max_connections_per_ip);
    const sockets = new Set<WebSocket>();

    /** Refuses an upgrade before it happens (an HTTP answer; the kernel then closes the socket). */
    const admit = async (request: FastifyRequest) => {
      if (!request.ws) return;
      // Browsers send Origin on every WebSocket handshake and a page cannot forge it (CSWSH);
      // programs send none.
      const origin = request.headers.origin;
      if (origin !== undefined && !isTrustedOrigin(origin, request.headers.host, corsOrigins, { wildcard: true })) {
        throw new ApflowError('APF_FORBIDDEN', {
          message: `WebSocket connections from origin '${String(origin).slice(0, 200)}' are refused: only this server's own pages and server.cors_origins may connect`,
        });
      }
      if (!perAddress.take(request.ip)) {
        throw new ApflowError('APF_RATE_LIMITED', {
          message: `too many WebSocket connections from ${request.ip} (websocket.max_connections_per_ip is ${settings.max_connections_per_ip}): close some first`,
        });
      }
      request.raw.socket.once('close', () => perAddress.release(request.ip));
    };

    void app.http.register(async (scope) => {
      await scope.register(fastifyWebsocket, {
        // Bounds what one frame or message can make the server buffer, before any authentication.
        options: { maxPayload: settings.max_message_bytes ?? app.config.server.body_limit },
        errorHandler(error, socket, request) {
          // ws has already closed the socket for a client's protocol error (1009: message too large).
          if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) {
            request.log.debug({ err: error }, 'websocket closed on a protocol error');
            return;
          }
          request.log.error({ err: error }, 'websocket failed');
          socket.terminate();
        },
      });
      scope.get('/ws', { websocket: true, onRequest: admit, config: { endpoint: 'websocket' } }, (socket, request) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        handleConnection(app, socket, request, settings);
      });
    });
    // On shutdown or reload, close the sockets so clients reconnect (and resubscribe with last_seq).
    app.onClosing(() => {
      for (const socket of sockets)
        socket.close(1001, 'server going away: reconnect and subscribe again with last_seq');
    });
  },
});
