import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import { definePlugin, version } from 'apflow';

const COMMON: FastifyCorsOptions = {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  allowedHeaders: [
    'Content-Type',
    'Authorization',
    'X-LLM-API-KEY',
    'A2A-Version',
    'A2A-Extensions',
    'Last-Event-ID',
    'X-Request-Id',
    'Mcp-Session-Id',
    'Mcp-Protocol-Version',
  ],
  exposedHeaders: ['WWW-Authenticate', 'X-Request-Id', 'Retry-After', 'Mcp-Session-Id'],
  maxAge: 600,
};

/**
 * CORS for browsers on other origins (a dashboard, a notebook): `server.cors_origins` lists
 * them; without it, no CORS headers are sent and browsers keep to same-origin. A listed origin
 * is answered with itself and credentials (cookies); `"*"` answers any other origin with `*` and
 * never with credentials, so a page anywhere can call with a bearer token it holds, but never
 * with the user's cookies.
 */
export default definePlugin({
  name: 'cors',
  version,
  setup(app) {
    const configured = app.config.server.cors_origins ?? [];
    if (configured.length === 0) return;
    const any = configured.includes('*');
    // Origins never end in '/'; a configured one that does would otherwise never match.
    const listed = new Set(configured.filter((origin) => origin !== '*').map((origin) => origin.replace(/\/+$/, '')));
    void app.http.register(fastifyCors, {
      delegator: (request, callback) => {
        const origin = request.headers.origin;
        // `null` (sandboxed frames, file: pages) is reflected only when listed literally.
        if (typeof origin === 'string' && listed.has(origin))
          return callback(null, { ...COMMON, origin, credentials: true });
        if (any) return callback(null, { ...COMMON, origin: '*', credentials: false });
        callback(null, { origin: false });
      },
    });
  },
});
