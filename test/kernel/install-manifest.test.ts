import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { repoRoot } from '../helpers.ts';

/**
 * What `npm ci` warns about, read from the lock file it installs: a package whose `engines`
 * exclude this Node (EBADENGINE) and a package with install scripts that `allowScripts` does not
 * decide on. The overrides that keep them away are tested here by their outcome.
 */

interface Locked {
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  dev?: boolean;
}

const read = (file: string) => JSON.parse(readFileSync(join(repoRoot, file), 'utf8')) as Record<string, unknown>;
const locked = Object.entries((read('package-lock.json') as { packages: Record<string, Locked> }).packages).filter(
  ([path]) => path.includes('node_modules/'),
);

test('every package npm installs declares that it runs on this Node (no EBADENGINE)', () => {
  const refused = locked
    .map(([path, entry]) => [path, Array.isArray(entry.engines) ? undefined : entry.engines?.node] as const)
    .filter(([, range]) => range !== undefined && !semver.satisfies(process.version, range))
    .map(([path, range]) => `${path} (node ${range})`);
  assert.deepEqual(refused, [], `these declare another Node than ${process.version}`);
});

test('every install script is decided on in allowScripts (npm warns about the others)', () => {
  const allow = read('package.json').allowScripts as Record<string, boolean>;
  const undecided = locked
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .filter((name) => !(name in allow));
  assert.deepEqual(undecided, []);
});
