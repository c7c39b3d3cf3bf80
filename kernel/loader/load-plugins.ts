import Value from 'typebox/value';
import type { TSchema } from 'typebox';
import { KernelConfigSchema } from '../config/config-schema.ts';
import type { ApflowConfig } from '../config/resolve-config.ts';
import { ApflowError, isApflowError } from '../errors/apflow-error.ts';
import { importDefault } from '../internal/fresh-import.ts';
import { describeSchemaErrors } from '../internal/schema-errors.ts';
import type { PluginApp, PluginDefinition } from './define-plugin.ts';
import type { Releasers } from './releasers.ts';
import { builtinEntry, listBuiltinPlugins, type PluginSource } from './resolve-plugins.ts';

/** A plugin ready for setup: its definition, where it came from, and its checked options. */
export interface LoadedPlugin {
  definition: PluginDefinition;
  source: PluginSource;
  options: Record<string, unknown>;
  /** The plugin's own config section with its defaults filled in (undefined when it owns none). */
  settings: unknown;
}

/**
 * Imports and checks every plugin, then orders them by dependencies. The checks read like a
 * list: shape, unique name, options, owned config section; then the config's unknown keys.
 * Any failure names the plugin and the reason.
 */
export async function loadPlugins(
  sources: readonly PluginSource[],
  config: ApflowConfig,
  fresh: boolean,
): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const source of sources) {
    const definition = await importPlugin(source, fresh);
    checkShape(definition, source);
    checkDuplicateName(definition, loaded);
    const options = checkOptions(definition, source);
    const settings = checkOwnConfig(definition, config);
    loaded.push({ definition, source, options, settings });
  }
  await checkUnknownConfigKeys(config, loaded);
  return orderByDependencies(loaded);
}

/** Runs each plugin's setup in order; a failure names the plugin and stops the start. */
export async function setupPlugins(
  plugins: readonly LoadedPlugin[],
  makeApp: (plugin: LoadedPlugin) => PluginApp,
  releasers: Releasers,
): Promise<void> {
  for (const plugin of plugins) {
    try {
      const disposer = await plugin.definition.setup(makeApp(plugin));
      if (typeof disposer === 'function') releasers.add(disposer);
    } catch (error) {
      const reason = isApflowError(error) || error instanceof Error ? error.message : String(error);
      throw failed(plugin.definition.name, reason, error);
    }
  }
}

async function importPlugin(source: PluginSource, fresh: boolean): Promise<PluginDefinition> {
  try {
    return (await importDefault(source.file, { fresh: fresh && source.kind === 'local' })) as PluginDefinition;
  } catch (error) {
    throw failed(source.spec, (error as Error).message ?? String(error), error);
  }
}

function checkShape(
  definition: PluginDefinition | undefined,
  source: PluginSource,
): asserts definition is PluginDefinition {
  if (typeof definition !== 'object' || definition === null) {
    throw failed(source.spec, 'its module has no default export made with definePlugin()');
  }
  if (typeof definition.name !== 'string' || definition.name === '')
    throw failed(source.spec, "its definition has no 'name'");
  if (typeof definition.setup !== 'function') throw failed(definition.name, 'its definition has no setup() function');
  if (source.kind === 'builtin' && definition.name !== source.spec) {
    throw failed(source.spec, `a built-in plugin must be named after its folder, not '${definition.name}'`);
  }
}

function checkDuplicateName(definition: PluginDefinition, loaded: readonly LoadedPlugin[]): void {
  const twin = loaded.find((plugin) => plugin.definition.name === definition.name);
  if (twin) throw failed(definition.name, `another plugin has the same name (from ${twin.source.spec})`);
}

function checkOptions(definition: PluginDefinition, source: PluginSource): Record<string, unknown> {
  if (!definition.options) return source.options;
  const options = Value.Default(definition.options, structuredClone(source.options)) as Record<string, unknown>;
  checkAgainst(definition.options, options, `plugins['${definition.name}'].options`, definition.name);
  return options;
}

function checkOwnConfig(definition: PluginDefinition, config: ApflowConfig): unknown {
  if (!definition.config) return undefined;
  const { key, schema } = definition.config;
  // Keys a section leaves out take their defaults, as in the kernel's own sections.
  const settings = Value.Default(schema, structuredClone(config[key] ?? {}));
  checkAgainst(schema, settings, key, definition.name);
  return settings;
}

function checkAgainst(schema: TSchema, value: unknown, prefix: string, plugin: string): void {
  // Checked once a load: TypeBox's interpreter, without compiling a validator for it.
  if (Value.Check(schema, value)) return;
  throw new ApflowError('APF_CONFIG_INVALID', {
    message: `invalid configuration for plugin '${plugin}':\n${describeSchemaErrors(Value.Errors(schema, value), prefix)}`,
  });
}

/** Top-level keys must belong to the kernel or to a plugin (loaded, or a disabled built-in). */
async function checkUnknownConfigKeys(config: ApflowConfig, loaded: readonly LoadedPlugin[]): Promise<void> {
  const known = new Set(Object.keys(KernelConfigSchema.properties));
  for (const plugin of loaded) if (plugin.definition.config) known.add(plugin.definition.config.key);
  const unknown = Object.keys(config).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const enabled = new Set(loaded.map((plugin) => plugin.definition.name));
  for (const name of listBuiltinPlugins().filter((builtin) => !enabled.has(builtin))) {
    const definition = (await importDefault(builtinEntry(name), {
      fresh: false,
    })) as PluginDefinition;
    if (definition?.config) known.add(definition.config.key);
  }
  const left = unknown.filter((key) => !known.has(key));
  if (left.length > 0) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `invalid configuration:\n${left.map((key) => `- ${key}: unknown key (not a kernel setting, and no plugin declares it)`).join('\n')}`,
    });
  }
}

function orderByDependencies(plugins: readonly LoadedPlugin[]): LoadedPlugin[] {
  const byName = new Map(plugins.map((plugin) => [plugin.definition.name, plugin]));
  const ordered: LoadedPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (plugin: LoadedPlugin, path: string[]): void => {
    const name = plugin.definition.name;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw failed(name, `dependency cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dependency of plugin.definition.dependencies ?? []) {
      const needed = byName.get(dependency);
      if (!needed) throw failed(name, `it depends on plugin '${dependency}', which is not loaded`);
      visit(needed, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin, []);
  return ordered;
}

function failed(name: string, reason: string, cause?: unknown): ApflowError {
  return new ApflowError('APF_PLUGIN_LOAD_FAILED', { message: `plugin '${name}' failed to load: ${reason}`, cause });
}
