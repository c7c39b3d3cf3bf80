import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isRecord } from './is-record.ts';

let version = 0;
const commonJsCache = createRequire(import.meta.url).cache;
const kernelDir = fileURLToPath(new URL('../', import.meta.url));

/**
 * Imports `file` as a new module instance, bypassing Node's module cache, so an edited file
 * is seen as it now is. With `bin/register.js` loaded, the file's local imports are fresh too;
 * packages (apflow itself included) stay shared.
 */
export async function freshImport(file: string): Promise<unknown> {
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
  const module: unknown = await (options.fresh ? freshImport(file) : import(pathToFileURL(file).href));
  const value = isRecord(module) ? module.default : undefined;
  if (isInteropWrapper(value)) return value.default;
  return value;
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
