import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isRecord } from './is-record.ts';
import { isBuild, kernelRoot, packageRoot } from './package-root.ts';
import { importUserFile } from './bundle-user-file.ts';
import { ensureUserLoader, userLoaderActive } from './user-loader.ts';

let version = 0;
/** User files compiled once (imported without `fresh`): the same module each time, as `import` gives. */
const compiled = new Map<string, Promise<unknown>>();
const commonJsCache = createRequire(import.meta.url).cache;
const kernelDir = fileURLToPath(kernelRoot);
const buildDir = fileURLToPath(new URL('dist/', packageRoot));

/**
 * Imports `file` as a new module instance, bypassing Node's module cache, so an edited file
 * is seen as it now is. With `bin/register.js` loaded, the file's local imports are fresh too;
 * packages (apflow itself included) stay shared.
 */
async function freshImport(file: string): Promise<unknown> {
  forgetCommonJs();
  const url = pathToFileURL(file);
  url.searchParams.set('apflow-v', String(++version));
  return import(url.href);
}

/**
 * Imports `file` (fresh or cached) and returns its default export. A TypeScript file outside an
 * ES-module package is compiled to CommonJS, which nests the export once more; that is undone.
 */
export async function importDefault(file: string, options: { fresh: boolean }): Promise<unknown> {
  const module: unknown = await importModule(file, options.fresh);
  const value = isRecord(module) ? module.default : undefined;
  if (isInteropWrapper(value)) return value.default;
  return value;
}

/**
 * The build without loader hooks compiles a user's file in this thread (bundle-user-file.ts);
 * the sources, or a process started with `--import apflow/register`, have the hooks: there the
 * file is imported through them (fresh: with a version query its local imports carry on).
 */
async function importModule(file: string, fresh: boolean): Promise<unknown> {
  if (!needsLoader(file)) return import(pathToFileURL(file).href);
  if (isBuild && !userLoaderActive()) {
    if (fresh) return importUserFile(file);
    let loaded = compiled.get(file);
    if (!loaded) compiled.set(file, (loaded = importUserFile(file)));
    return loaded;
  }
  await ensureUserLoader();
  return fresh ? freshImport(file) : import(pathToFileURL(file).href);
}

/**
 * Whether `file` needs the user's loader: the user's own files do (config, executors, local
 * plugins: TypeScript maybe, reloaded), as do TypeScript packages and packages linked from
 * outside node_modules (their `apflow` is found by the hooks); apflow's build and JavaScript
 * packages installed in node_modules load as they are.
 */
function needsLoader(file: string): boolean {
  if (file.startsWith(buildDir)) return false;
  return /\.[mc]?ts$/.test(file) || !file.includes(`${sep}node_modules${sep}`);
}

function isInteropWrapper(value: unknown): value is { default: unknown } {
  if (typeof value !== 'object' || value === null || !('default' in value)) return false;
  return Object.keys(value).every((key) => key === 'default' || key === '__esModule');
}

/**
 * TypeScript outside an ES-module package is loaded as CommonJS, whose cache ignores the URL's
 * version query: drop the user's own modules from it so they are read again.
 */
function forgetCommonJs(): void {
  for (const key of Object.keys(commonJsCache)) {
    if (!key.includes('/node_modules/') && !key.startsWith(kernelDir)) delete commonJsCache[key];
  }
}
