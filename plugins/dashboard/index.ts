import { ApflowError, definePlugin, version } from 'apflow';
import { loadAssets, PAGE_ASSET } from './assets.ts';
import { CLIENT_ASSET, clientAsset } from './client-asset.ts';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The web dashboard at `GET /ui`: a page and its assets (`/ui?asset=<name>`), shipped in the
 * package and served by this server (no CDN: it works offline). The page talks to the server as any
 * client does, through `apflow/client`'s browser build (`/ui?asset=client.js`): JSON-RPC on
 * `POST /tasks`, and events over `/ws`.
 */
export default definePlugin({
  name: 'dashboard',
  version,
  async setup(app) {
    const assets = await loadAssets();
    app.http.get<{ Querystring: { asset?: string } }>('/ui', async (request, reply) => {
      const name = request.query.asset ?? PAGE_ASSET;
      const asset = name === CLIENT_ASSET ? await clientAsset() : assets.get(name);
      if (!asset)
        throw new ApflowError('APF_NOT_FOUND', {
          message: `No such dashboard asset '${name}' (one of ${[...assets.keys(), CLIENT_ASSET].join(', ')})`,
        });
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      reply.type(asset.type).header('etag', asset.etag).header('x-content-type-options', 'nosniff');
      // The page is small and names its assets: revalidated each time; the assets by their ETag.
      reply.header('cache-control', name === PAGE_ASSET ? 'no-cache' : 'public, max-age=300');
      // Only this server's own files and connections: a task name or result shown in the page can
      // never load or run anything.
      if (name === PAGE_ASSET) reply.header('content-security-policy', CSP);
      if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
        return reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').send(asset.gzip);
      return reply.header('vary', 'accept-encoding').send(asset.body);
    });
  },
});
