import { packageRoot } from './package-root.ts';

const registerUrl = new URL('bin/register.js', packageRoot).href;

/**
 * Installs the TypeScript loader and apflow's loader hooks (`bin/register.js`) before a user's
 * file loads: their config, executors and local plugins may be TypeScript, and reloading them
 * needs the hooks. A module loads once, so this is done once, or not at all when they were
 * installed at start (the sources, `--import apflow/register`). Deferred because the hooks run
 * every later import through a loader thread: about 1.6 s and 65 MB more at start when installed
 * before apflow's own modules load.
 */
export async function ensureUserLoader(): Promise<void> {
  await import(registerUrl);
}
