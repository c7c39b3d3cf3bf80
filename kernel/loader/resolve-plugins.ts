import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';
import { isBuild, packageRoot } from '../internal/package-root.ts';
import type { PluginEntryConfig } from '../config/config-schema.ts';

/** Where a plugin comes from and the options the config gives it. */
export interface PluginSource {
  /** Built-in folder name, npm package name, or the path as written. */
  spec: string;
  kind: 'builtin' | 'package' | 'local';
  /** Absolute path of the module to import. */
  file: string;
  options: Record<string, unknown>;
}

/** The folder holding the built-in plugins, one sub-folder each. */
export const builtinPluginsDir = fileURLToPath(new URL(isBuild ? 'dist/plugins/' : 'plugins/', packageRoot));

/** A built-in plugin's entry file: `index.ts` in the sources, `index.js` in the build. */
export const builtinEntry = (name: string) => join(builtinPluginsDir, name, isBuild ? 'index.js' : 'index.ts');

/** Names of the built-in plugins (their folder names). */
export function listBuiltinPlugins(): string[] {
  if (!existsSync(builtinPluginsDir)) return [];
  return readdirSync(builtinPluginsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(builtinEntry(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Lists the plugins to load: the built-ins less `disabled`, then the config's entries. An entry
 * naming a built-in only gives it options; others are local paths or npm packages resolved
 * from the app's own node_modules (`baseDir` upwards).
 */
export function resolvePluginSources(
  entries: readonly PluginEntryConfig[],
  disabled: readonly string[],
  baseDir: string,
): PluginSource[] {
  const builtins = listBuiltinPlugins();
  for (const name of disabled) {
    if (!builtins.includes(name)) {
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: `disabled_plugins names '${name}', which is not a built-in plugin (built-ins: ${builtins.join(', ') || 'none'})`,
      });
    }
  }
  const options = new Map<string, Record<string, unknown>>();
  const extra: PluginSource[] = [];
  for (const entry of entries) {
    const spec = typeof entry === 'string' ? entry : entry.name;
    const given = typeof entry === 'string' ? {} : (entry.options ?? {});
    if (builtins.includes(spec)) options.set(spec, given);
    else extra.push(resolveExternal(spec, given, baseDir));
  }
  const enabled = builtins
    .filter((name) => !disabled.includes(name))
    .map((name): PluginSource => ({
      spec: name,
      kind: 'builtin',
      file: builtinEntry(name),
      options: options.get(name) ?? {},
    }));
  return [...enabled, ...extra];
}

function resolveExternal(spec: string, options: Record<string, unknown>, baseDir: string): PluginSource {
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const file = resolve(baseDir, spec);
    const candidates = [file, join(file, 'index.ts'), join(file, 'index.js'), join(file, 'index.mjs')];
    const found = candidates.find((candidate) => existsSync(candidate) && !isDirectory(candidate));
    if (!found) throw loadFailed(spec, `no such file: ${file}`);
    return { spec, kind: 'local', file: found, options };
  }
  return { spec, kind: 'package', file: resolvePackageEntry(spec, baseDir), options };
}

/** Finds an npm package's ESM entry by walking node_modules folders up from `baseDir`. */
function resolvePackageEntry(name: string, baseDir: string): string {
  for (let dir = baseDir; ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', name);
    const manifest = join(root, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      const files = packageEntries(pkg).map((entry) => join(root, entry));
      const file = files.find((candidate) => existsSync(candidate));
      if (!file) throw loadFailed(name, `its entry ${files.at(-1)} does not exist`);
      return file;
    }
    if (dirname(dir) === dir) break;
  }
  throw loadFailed(name, `package not found in node_modules (from ${baseDir}); install it with 'npm install ${name}'`);
}

/**
 * A package's ES-module entry, as its `exports` (or `module`, `main`) name it. Running from the
 * sources, apflow's own packages (the extensions) are asked for theirs first (`apflow-source`),
 * where they have them: an installed copy has only its build.
 */
function packageEntries(pkg: Record<string, unknown>): string[] {
  let target: unknown = pkg.exports;
  if (target && typeof target === 'object' && !Array.isArray(target) && '.' in target)
    target = (target as Record<string, unknown>)['.'];
  const sources = isRecord(target) && !isBuild ? target['apflow-source'] : undefined;
  for (let depth = 0; isRecord(target) && depth < 4; depth++) target = target.import ?? target.node ?? target.default;
  const entry =
    typeof target === 'string'
      ? target
      : typeof pkg.module === 'string'
        ? pkg.module
        : typeof pkg.main === 'string'
          ? pkg.main
          : 'index.js';
  return typeof sources === 'string' ? [sources, entry] : [entry];
}

function isDirectory(path: string): boolean {
  try {
    return readdirSync(path) !== undefined;
  } catch {
    return false;
  }
}

function loadFailed(spec: string, reason: string): ApflowError {
  return new ApflowError('APF_PLUGIN_LOAD_FAILED', { message: `plugin '${spec}' failed to load: ${reason}` });
}
