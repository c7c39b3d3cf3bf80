import { readFileSync } from 'node:fs';
import { packageRoot } from './package-root.ts';

// Our own package.json: it has a version.
const manifest = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as {
  version: string;
};

/** apflow's version, from its package.json. */
export const version: string = manifest.version;
