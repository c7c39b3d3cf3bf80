import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeAsset, type Asset } from './assets.ts';

/** The asset name the page imports `apflow/client` by. */
export const CLIENT_ASSET = 'client.js';

let built: Promise<Asset> | undefined;

/**
 * `apflow/client`'s browser build, which the page talks to the server with. An installed apflow
 * has it prebuilt (`dist/client/browser.js`, by `npm run build`); a clone running its sources
 * bundles `client/index.ts` with esbuild on the first request, once per process, the same way.
 */
export function clientAsset(): Promise<Asset> {
  built ??= loadClient().then((body) => makeAsset('text/javascript; charset=utf-8', body));
  // A failed build is tried again at the next request rather than remembered.
  built.catch(() => (built = undefined));
  return built;
}

async function loadClient(): Promise<Buffer> {
  const root = join(import.meta.dirname, '..', '..');
  const prebuilt = join(root, 'client', 'browser.js');
  if (existsSync(prebuilt)) return readFile(prebuilt);
  const { bundleBrowserClient } = await import('./bundle-client.ts');
  return bundleBrowserClient(join(root, 'client', 'index.ts'));
}
