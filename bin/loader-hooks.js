// Node module-loader hooks (they run in the loader thread), registered by register.js.
// - A file imported with `?apflow-v=N` passes the same query on to the local files it imports,
//   so a reloaded executor or plugin gets fresh copies of its own helper modules, while packages
//   and apflow's own kernel stay shared and are not loaded again.
// - `apflow` imported from where no node_modules holds it is the apflow these hooks belong to,
//   and in a clone packages resolve to their TypeScript sources (see resolveApflow).
// - In a clone, packages made of hundreds of modules load pre-bundled (prebundle.js).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prebundled } from './prebundle.js';

const PARAM = 'apflow-v';
const BARE = /^(?![./#]|file:|[A-Za-z]:[\\/])/;
const ROOT = new URL('../', import.meta.url);
const KERNELS = [new URL('kernel/', ROOT).href, new URL('dist/kernel/', ROOT).href];
const APFLOW_MANIFEST = new URL('package.json', ROOT).href;
/** The package condition that selects apflow's sources over its build (package.json `exports`). */
const SOURCES = 'apflow-source';
let fromSources = false;

/** @param {{ sources?: boolean } | undefined} data what register.js found: whether apflow runs from its sources */
export function initialize(data) {
  fromSources = data?.sources === true;
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await resolveApflow(specifier, context, nextResolve);
  const bundled = fromSources ? await prebundled(resolved.url) : undefined;
  if (bundled) return { ...resolved, url: bundled };
  const parent = context.parentURL;
  if (!parent || !parent.includes(`${PARAM}=`)) return resolved;
  const { url } = resolved;
  if (!url.startsWith('file:') || url.includes('/node_modules/') || KERNELS.some((kernel) => url.startsWith(kernel)))
    return resolved;
  // A package linked from outside node_modules (workspaces, `npm link`) resolves to its real
  // path; its own package.json tells it apart from a local file reached through a path alias.
  if (BARE.test(specifier) && nearestPackageName(fileURLToPath(url)) === packageName(specifier)) return resolved;
  const version = new URL(parent).searchParams.get(PARAM);
  if (version === null) return resolved;
  const fresh = new URL(url);
  fresh.searchParams.set(PARAM, version);
  return { ...resolved, url: fresh.href };
}

/**
 * Resolves as Node does, in a clone asking packages for their sources (the `apflow-source`
 * condition: apflow's and its extensions' `exports` point it at their TypeScript, so a clone
 * runs one copy of apflow, its sources, and needs no build to run). Where that finds no `apflow`
 * (a plugin linked from outside any node_modules that holds apflow: this repository's workspaces
 * in `extensions/`, an `npm link`), resolves it from apflow's own package instead, so the plugin
 * gets the apflow running it.
 * @param {string} specifier
 * @param {{ parentURL?: string, conditions?: string[] }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
async function resolveApflow(specifier, context, nextResolve) {
  const asked = fromSources ? { ...context, conditions: [SOURCES, ...(context.conditions ?? [])] } : context;
  try {
    return await nextResolve(specifier, asked);
  } catch (error) {
    const apflow = specifier === 'apflow' || specifier.startsWith('apflow/');
    if (!apflow || /** @type {{ code?: string }} */ (error).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return nextResolve(specifier, { ...asked, parentURL: APFLOW_MANIFEST });
  }
}

/** @param {string} specifier */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** @type {Map<string, string | null>} */
const names = new Map();

/** @param {string} file */
function nearestPackageName(file) {
  const dir = dirname(file);
  if (!names.has(dir)) {
    const manifest = join(dir, 'package.json');
    let name = null;
    if (existsSync(manifest)) {
      try {
        name = JSON.parse(readFileSync(manifest, 'utf8')).name ?? null;
      } catch {
        name = null;
      }
    } else if (dirname(dir) !== dir) {
      name = nearestPackageName(dir);
    }
    names.set(dir, name);
  }
  return names.get(dir) ?? null;
}
