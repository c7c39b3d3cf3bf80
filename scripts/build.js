#!/usr/bin/env node
// `npm run build`: builds apflow's kernel and built-in plugins to dist/ (bundled JavaScript, and
// .d.ts files from tsc), copying the files they read at run time beside them, then each
// extension to its own dist/ (tsc). `node scripts/build.js NAME…` builds those extensions only
// (apflow's types first if missing).
// It is also npm's `prepare` (a git install, `npm pack`): where TypeScript is not installed
// (`npm ci --omit=dev` in a clone, as the Docker image does) it builds nothing, and the clone
// runs from its sources as always.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
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
}
const extensions = named.length
  ? named
  : readdirSync(join(root, 'extensions'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
for (const name of extensions) compile(join(root, 'extensions', name));
