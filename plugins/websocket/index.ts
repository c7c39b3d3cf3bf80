import fastifyWebsocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { definePlugin, Type, version } from 'apflow';
import { handleConnection, type WebSocketSettings } from './connection.ts';

const Settings = Type.Object(
  { max_buffered_bytes: Type.Integer({ default: 8 * 1024 * 1024, minimum: 1024 }) },
  { additionalProperties: false, default: {} },
);

/** `GET /ws`: subscribe to task events and send JSON-RPC requests over one WebSocket. */
export default definePlugin({
  name: 'websocket',
  version,
  config: { key: 'websocket', schema: Settings },
  setup(app) {
    const settings = app.settings as WebSocketSettings;
    const sockets = new Set<WebSocket>();
    void app.http.register(async (scope) => {
      await scope.register(fastifyWebsocket);
      scope.get('/ws', { websocket: true }, (socket, request) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        handleConnection(app, socket, request, settings);
      });
    });
    // On shutdown or reload, close the sockets so clients reconnect (and resubscribe with last_seq).
    app.onClosing(() => {
      for (const socket of sockets) socket.close(1001, 'server going away: reconnect and subscribe again with last_seq');
    });
  },
});
