import { build } from 'esbuild';

/**
 * Bundles `apflow/client` for browsers: one minified ES module, its one dependency inlined.
 * `npm run build` calls it for `dist/client/browser.js`; the dashboard for a clone's sources.
 */
export async function bundleBrowserClient(entry: string): Promise<Buffer> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    // Node's WebSocket for subscribe() when there is no global one: never loaded in a browser.
    external: ['ws'],
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no client bundle');
  return Buffer.from(file.contents);
}
