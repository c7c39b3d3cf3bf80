import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes `dir` an app that installed apflow and its extensions as npm would leave them: apflow's
 * package as published (bin, dist, package.json) and each extension's (dist, package.json) in
 * `node_modules`, beside every other package of this clone's `node_modules` (linked, not copied:
 * what a start reads is the same). `project` makes it with `apflow init`, plus both extensions
 * in its config (the line `init` writes commented out); otherwise it has no config at all.
 */
export function makeInstalledApp(root: string, dir: string, options: { project: boolean }): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@apflow'), { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (['apflow', '@apflow', '.bin', '.package-lock.json'].includes(name)) continue;
    symlinkSync(join(root, 'node_modules', name), join(modules, name));
  }
  for (const part of ['bin', 'dist', 'package.json'])
    cpSync(join(root, part), join(modules, 'apflow', part), { recursive: true });
  for (const extension of readdirSync(join(root, 'extensions'), { withFileTypes: true })) {
    if (!extension.isDirectory()) continue;
    for (const part of ['dist', 'package.json'])
      cpSync(join(root, 'extensions', extension.name, part), join(modules, '@apflow', extension.name, part), {
        recursive: true,
      });
  }
  if (!options.project) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, type: 'module' }));
    return;
  }
  execFileSync(process.execPath, [join(modules, 'apflow/bin/apflow.js'), 'init', dir], { stdio: 'ignore' });
  const config = join(dir, 'apflow.config.ts');
  const written = readFileSync(config, 'utf8');
  const enabled = written.replace('// plugins: [', 'plugins: [');
  if (enabled === written) throw new Error('apflow init wrote no plugins line to enable');
  writeFileSync(config, enabled);
}
