// The JavaScript of apflow's build: the kernel's entries (the public `apflow`, `apflow/testing` and
// `apflow/client` for Node, the CLI) and every built-in plugin, bundled with the dependencies they import by esbuild.
// Starting from some 2,400 module files, Node spent most of a start finding, reading and
// compiling them (2.4–3.0 s to a healthy /health here); bundled, a start reads about 80 files.
// Code splitting keeps one copy of each module: the entries share chunks (dist/kernel/chunks/),
// and a module imported only lazily (`await import()`) is a chunk loaded only when asked for.
// Plugins import `apflow` itself, left external, so they meet the same chunks as the CLI.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Packages left to Node's resolution (installed as dependencies): native code (better-sqlite3), files
 * read from their own folder at run time (pino's worker
 * transports), and those the kernel loads only when used (kernel/internal/lazy-require.ts:
 * Sequelize for a plugin's migrations written with it, pg for PostgreSQL, undici for outbound calls, yaml for a YAML
 * config, pino-pretty for readable logs; esbuild, native, to compile a user's TypeScript), so a start that does not need one never reads it.
 */
export const external = [
  'apflow',
  'better-sqlite3',
  'pg',
  'pg-native',
  'pino',
  'pino-pretty',
  'sequelize',
  'undici',
  'yaml',
  'esbuild',
];

/** @param {string} root apflow's package folder */
export async function bundleKernel(root) {
  const { build } = await import('esbuild');
  const plugins = readdirSync(join(root, 'plugins'))
    .map((name) => join(root, 'plugins', name, 'index.ts'))
    .filter((entry) => existsSync(entry));
  await build({
    absWorkingDir: root,
    entryPoints: ['kernel/index.ts', 'kernel/cli/cli.ts', 'kernel/testing/index.ts', 'client/index.ts', ...plugins],
    outdir: 'dist',
    outbase: '.',
    chunkNames: 'kernel/chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external,
    // Bundled CommonJS packages call `require` (for Node's built-ins, and optional packages).
    banner: {
      js: "import { createRequire as __apflowRequire } from 'node:module'; const require = __apflowRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
