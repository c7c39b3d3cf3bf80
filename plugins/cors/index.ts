import fastifyCors from '@fastify/cors';
import { definePlugin, version } from 'apflow';

/**
 * CORS for browsers on other origins (a dashboard, a notebook): `server.cors_origins` lists
 * them (`["*"]` for any); without it, no CORS headers are sent and browsers keep to same-origin.
 */
export default definePlugin({
  name: 'cors',
  version,
  setup(app) {
    const origins = app.config.server.cors_origins ?? [];
    if (origins.length === 0) return;
    const any = origins.includes('*');
    void app.http.register(fastifyCors, {
      // With credentials allowed, "*" is answered with the request's own origin, as browsers require.
      origin: any ? true : origins,
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-LLM-API-KEY', 'A2A-Version', 'A2A-Extensions', 'Last-Event-ID', 'X-Request-Id'],
      exposedHeaders: ['WWW-Authenticate', 'X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  },
});
