// Node module-loader hook (runs in the loader thread). A file imported with `?apflow-v=N`
// passes the same query on to the local files it imports, so a reloaded executor or plugin
// gets fresh copies of its own helper modules, while packages and apflow's own kernel stay
// shared and are not loaded again.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PARAM = 'apflow-v';
const KERNEL = new URL('../', import.meta.url).href;
const BARE = /^(?![./#]|file:|[A-Za-z]:[\\/])/;

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (!parent || !parent.includes(`${PARAM}=`)) return resolved;
  const { url } = resolved;
  if (!url.startsWith('file:') || url.includes('/node_modules/') || url.startsWith(KERNEL)) return resolved;
  // A package linked from outside node_modules (workspaces, `npm link`) resolves to its real
  // path; its own package.json tells it apart from a local file reached through a path alias.
  if (BARE.test(specifier) && nearestPackageName(fileURLToPath(url)) === packageName(specifier)) return resolved;
  const version = new URL(parent).searchParams.get(PARAM);
  if (version === null) return resolved;
  const fresh = new URL(url);
  fresh.searchParams.set(PARAM, version);
  return { ...resolved, url: fresh.href };
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
