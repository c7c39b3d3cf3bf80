import { ApflowError, definePlugin, version, loadOnce } from 'apflow';

/**
 * API documentation: `GET /openapi.json`, an OpenAPI 3.1 document of every route and JSON-RPC
 * method this server has (built at request time from `app.describe()`, so plugins loaded or
 * reloaded later are in it), and `GET /docs`, Swagger UI on it, served from this server.
 */
export default definePlugin({
  name: 'api-docs',
  version,
  setup(app) {
    // The document's builder and the page load with the first request for them, not at start.
    const documents = loadOnce(() => import('./openapi-document.ts'));
    const page = loadOnce(async () => {
      const ui = await import('./swagger-ui.ts');
      return { ...ui, asset: ui.createAssets(new URL('./', import.meta.url)) };
    });
    const baseUrl = app.config.server.base_url?.replace(/\/+$/, '');

    app.http.get<{ Querystring: { asset?: string } }>('/docs', async (request, reply) => {
      const { ASSETS, PAGE, asset } = await page();
      const name = request.query.asset;
      if (name === undefined)
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE);
      const file = await asset(name);
      if (!file)
        throw new ApflowError('APF_NOT_FOUND', {
          message: `No such docs asset '${name}' (one of ${ASSETS.join(', ')})`,
        });
      return reply
        .type(file.type)
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(file.body);
    });

    app.http.get('/openapi.json', async (request) =>
      (await documents()).buildDocument(app.describe(), {
        version,
        serverUrl: baseUrl ?? `${request.protocol}://${request.host}`,
        auth: app.config.auth.enabled,
        publicPaths: app.service('jwt-auth')?.publicPaths ?? new Set(),
      }),
    );
  },
});
