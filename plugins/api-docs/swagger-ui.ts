import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Swagger UI's files, as @fastify/swagger-ui ships them (no CDN: the page works offline). */
const STATIC_DIR = join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static');

const TYPES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Starts Swagger UI on the document next to the page (`/openapi.json` beside `/docs`, also behind
 * a path prefix). No validator badge: it would call validator.swagger.io.
 */
const INITIALIZER = `window.onload = function () {
  var base = window.location.pathname.replace(/\\/docs\\/?$/, '');
  window.ui = SwaggerUIBundle({
    url: base + '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
    persistAuthorization: true
  });
};
`;

/**
 * The page. Its files are `?asset=<name>` of the page's own URL, so they are as public as `/docs`
 * itself when authentication is on (the public paths are exact, without prefixes).
 */
export const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>apflow API</title>
    <link rel="stylesheet" type="text/css" href="?asset=swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="?asset=index.css">
    <link rel="icon" type="image/png" href="?asset=favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="?asset=favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="?asset=swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="?asset=swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="?asset=initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

/** The names `?asset=` accepts. */
export const ASSETS: readonly string[] = [...Object.keys(TYPES), 'initializer.js'];

/** One of the page's files (read once, then kept), or undefined for an unknown name. */
export function createAssets(): (name: string) => Promise<{ type: string; body: Buffer | string } | undefined> {
  const cache = new Map<string, Promise<Buffer>>();
  return async (name) => {
    if (name === 'initializer.js') return { type: 'application/javascript; charset=utf-8', body: INITIALIZER };
    const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    if (!type) return undefined;
    let body = cache.get(name);
    if (!body) {
      body = readFile(join(STATIC_DIR, name));
      cache.set(name, body);
      body.catch(() => cache.delete(name));
    }
    return { type, body: await body };
  };
}
