#!/usr/bin/env node
// `npm run build`: builds apflow's kernel and built-in plugins to dist/ (bundled JavaScript, and
// .d.ts files from tsc), copying the files they read at run time beside them, then each
// extension to its own dist/ (tsc). `node scripts/build.js NAME…` builds those extensions only
// (apflow's types first if missing).
// It is also npm's `prepare` (a git install, `npm pack`): where TypeScript is not installed
// (`npm ci --omit=dev` in a clone) it builds nothing, and the clone runs from its sources, but
// without Swagger UI's files (/docs answers 503 for them); the Docker image builds, then prunes.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.log('apflow build: typescript is not installed (production install?): nothing built, the sources run');
  process.exit(0);
}
const compile = (dir, ...flags) => {
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json'), ...flags], { stdio: 'inherit' });
};

const named = process.argv.slice(2);
if (named.length === 0 || !existsSync(join(root, 'dist/kernel/index.d.ts'))) {
  compile(root, '--emitDeclarationOnly');
  const { bundleKernel } = await import('./bundle-kernel.js');
  await bundleKernel(root);
  // The dashboard's browser files are served as they are.
  cpSync(join(root, 'plugins/dashboard/ui'), join(root, 'dist/plugins/dashboard/ui'), { recursive: true });
  // apflow/client for browsers (package.json's `browser` condition; the dashboard serves it too).
  const { tsImport } = await import('tsx/esm/api');
  const { bundleBrowserClient } = await tsImport('../plugins/dashboard/bundle-client.ts', import.meta.url);
  writeFileSync(join(root, 'dist/client/browser.js'), await bundleBrowserClient(join(root, 'client/index.ts')));
  copySwaggerUi();
}
const extensions = named.length
  ? named
  : readdirSync(join(root, 'extensions'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
for (const name of extensions) compile(join(root, 'extensions', name));

/**
 * Swagger UI's files for GET /docs (plugins/api-docs/swagger-ui-files.json names them), copied
 * beside the built plugin from the dev dependency @fastify/swagger-ui: an installed apflow then
 * depends on neither it nor @fastify/static (whose content-disposition needs Node 22).
 */
function copySwaggerUi() {
  const require = createRequire(import.meta.url);
  const from = join(dirname(require.resolve('@fastify/swagger-ui/package.json')), 'static');
  const to = join(root, 'dist/plugins/api-docs/swagger-ui');
  mkdirSync(to, { recursive: true });
  const files = JSON.parse(readFileSync(join(root, 'plugins/api-docs/swagger-ui-files.json'), 'utf8'));
  for (const name of Object.keys(files)) cpSync(join(from, name), join(to, name));
  const packaged = require('@fastify/swagger-ui/package.json');
  writeFileSync(
    join(to, 'NOTICE'),
    `Swagger UI (swagger-ui-dist ${packaged.devDependencies['swagger-ui-dist']}), Apache License 2.0, ` +
      `https://github.com/swagger-api/swagger-ui\nas packaged by ${packaged.name} ${packaged.version} (${packaged.license}).\n`,
  );
}
