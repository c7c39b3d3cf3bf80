/** Whether this is apflow's build (`dist/`, JavaScript) rather than its TypeScript sources. */
export const isBuild = !import.meta.url.endsWith('.ts');

/** apflow's package folder (its package.json's), whether running from the sources or the build. */
export const packageRoot = new URL(isBuild ? '../../../' : '../../', import.meta.url);
