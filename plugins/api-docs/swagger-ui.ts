import { ApflowError } from 'apflow';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import FILES from './swagger-ui-files.json' with { type: 'json' };

/**
 * Swagger UI's files, served from this server (no CDN: the page works offline). The build copies
 * them beside the built plugin (scripts/build.js), so an installed apflow needs no package for
 * them. A clone running its sources reads them from the dev dependency @fastify/swagger-ui or,
 * installed without dev dependencies after a build (`npm ci && npm prune --omit=dev`, as the
 * Docker image is), from its build.
 */
function staticDir(pluginDir: URL): string | undefined {
  for (const copied of ['swagger-ui/', '../../dist/plugins/api-docs/swagger-ui/']) {
    const dir = fileURLToPath(new URL(copied, pluginDir));
    if (existsSync(dir)) return dir;
  }
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static');
  } catch {
    return undefined;
  }
}

const TYPES: Readonly<Record<string, string>> = FILES;

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

/**
 * One of the page's files (read once, then kept), or undefined for an unknown name. `pluginDir`
 * is the plugin's folder (its entry's URL: this module may be bundled into a shared chunk).
 */
export function createAssets(
  pluginDir: URL,
): (name: string) => Promise<{ type: string; body: Buffer | string } | undefined> {
  const dir = staticDir(pluginDir);
  const cache = new Map<string, Promise<Buffer>>();
  return async (name) => {
    if (name === 'initializer.js') return { type: 'application/javascript; charset=utf-8', body: INITIALIZER };
    const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    if (!type) return undefined;
    let body = cache.get(name);
    if (!body) {
      if (!dir)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: "Swagger UI's files are not installed here: build apflow (npm run build), then /docs serves them",
        });
      body = readFile(join(dir, name));
      cache.set(name, body);
      body.catch(() => cache.delete(name));
    }
    return { type, body: await body };
  };
}
