import { existsSync } from 'node:fs';

/** Whether this is apflow's build (`dist/`, JavaScript) rather than its TypeScript sources. */
export const isBuild = !import.meta.url.endsWith('.ts');

/**
 * apflow's package folder (its package.json's), whether running from the sources or the build.
 * Found by walking up, because in the build this module sits in a shared chunk, not where its
 * source file does.
 */
export const packageRoot = nearestPackage(new URL('.', import.meta.url));

/** The folder holding the kernel's modules: `kernel/`, or `dist/kernel/` in the build. */
export const kernelRoot = new URL(isBuild ? 'dist/kernel/' : 'kernel/', packageRoot);

function nearestPackage(dir: URL): URL {
  for (let at = dir; ;) {
    if (existsSync(new URL('package.json', at))) return at;
    const up = new URL('../', at);
    if (up.href === at.href) throw new Error(`apflow: no package.json above ${dir.href}`);
    at = up;
  }
}
