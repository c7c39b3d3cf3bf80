// Dependency pre-bundling for a clone running from its sources (as Vite does for its dev server):
// a package published as hundreds of small ES modules is bundled once, per version, into a few
// files under node_modules/.cache, and the loader hooks hand those out instead. Each module costs
// the loader thread a round trip, so TypeBox's ~680 files cost every CLI call and every test
// process about half a second; bundled they load in a tenth of that. One bundle per package with
// shared chunks keeps one copy of each module, so the package's own state (registries, settings)
// stays shared across its entry points. An installed apflow runs its build, which is bundled.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Packages worth it: ES-module only and spread over many files. */
const PACKAGES = ['typebox'];
const ROOT = new URL('../', import.meta.url);
const MODULES = new URL('node_modules/', ROOT).href;
const CACHE = fileURLToPath(new URL('node_modules/.cache/apflow-prebundle/', ROOT));

/** @type {Map<string, Promise<Map<string, string> | null>>} package name → (entry file URL → bundled file URL) */
const bundles = new Map();

/**
 * The bundled file that stands for `url`, when `url` is the entry point of a pre-bundled package
 * in apflow's own node_modules; otherwise undefined (then it loads as it is).
 * @param {string} url a resolved module URL
 * @returns {Promise<string | undefined>}
 */
export async function prebundled(url) {
  if (!url.startsWith(MODULES)) return undefined;
  const name = PACKAGES.find((one) => url.startsWith(`${MODULES}${one}/`));
  if (!name) return undefined;
  if (!bundles.has(name))
    bundles.set(
      name,
      bundle(name).catch(() => null),
    );
  return (await bundles.get(name))?.get(url);
}

/**
 * Bundles the package's entry points (its `exports`) unless this version is bundled already.
 * Several processes may start at once: each builds in a folder of its own and renames it into
 * place; the first rename wins and the others use its files.
 * @param {string} name
 */
async function bundle(name) {
  const dir = fileURLToPath(new URL(`${name}/`, MODULES));
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  /** @type {Record<string, string>} entry name → the package's file */
  const entries = {};
  for (const [key, target] of Object.entries(manifest.exports ?? {})) {
    const file = typeof target === 'string' ? target : (target.import ?? target.default);
    if (typeof file === 'string' && !key.includes('*')) entries[key === '.' ? 'index' : key.slice(2)] = join(dir, file);
  }
  const out = join(CACHE, `${name}@${manifest.version}`);
  if (!existsSync(join(out, 'index.js'))) {
    const { build } = await import('esbuild'); // a development dependency: without it, nothing is bundled
    const building = `${out}.${randomUUID()}`;
    await build({
      entryPoints: entries,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir: building,
      logLevel: 'silent',
    });
    try {
      renameSync(building, out);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another process got there first
    }
  }
  return new Map(
    Object.entries(entries).map(([entry, file]) => [
      pathToFileURL(file).href,
      pathToFileURL(join(out, `${entry}.js`)).href,
    ]),
  );
}
