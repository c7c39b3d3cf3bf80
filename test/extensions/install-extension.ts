import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../helpers.ts';

/**
 * Installs the extension `extensions/<folder>` into `dir/node_modules/<packageName>` as npm lays
 * it out (a copy of the package), with its `dependencies` linked beside it from the repository's
 * node_modules, so it loads by package name and resolves `apflow` as in a user's app.
 */
export function installExtension(
  dir: string,
  folder: string,
  packageName: string,
  dependencies: readonly string[],
): void {
  const modules = join(dir, 'node_modules');
  cpSync(join(repoRoot, 'extensions', folder), join(modules, packageName), {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  for (const name of dependencies) {
    const target = join(modules, name);
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), target, 'dir');
  }
}

/** What `@apflow/crewai` needs beside it. */
export const CREWAI_DEPENDENCIES = [
  'ai',
  ...['openai', 'anthropic', 'google', 'mistral', 'groq', 'openai-compatible'].map((name) => `@ai-sdk/${name}`),
];
