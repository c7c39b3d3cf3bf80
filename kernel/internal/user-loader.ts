import { packageRoot } from './package-root.ts';

const registerUrl = new URL('bin/register.js', packageRoot).href;
/** Set by `bin/register.js` once the TypeScript loader and apflow's hooks are installed. */
const ACTIVE = Symbol.for('apflow.user-loader');

/**
 * Installs the TypeScript loader and apflow's loader hooks (`bin/register.js`) before a user's
 * file loads from apflow's sources: their config, executors and local plugins may be TypeScript,
 * and reloading them needs the hooks. A module loads once, so this is done once, or not at all
 * when they were installed at start (the sources, `--import apflow/register`).
 */
export async function ensureUserLoader(): Promise<void> {
  await import(registerUrl);
}

/** Whether the hooks are installed in this process (`bin/register.js` ran). */
export function userLoaderActive(): boolean {
  return (globalThis as Record<symbol, unknown>)[ACTIVE] === true;
}
