import { dirname, isAbsolute, resolve } from 'node:path';
import Value from 'typebox/value';
import { ApflowError } from '../errors/apflow-error.ts';
import { KernelConfigSchema, type KernelConfig } from './config-schema.ts';
import { configFileEnvNames, readEnvLayer } from './config-env.ts';
import { findConfigFile, readConfigFile } from './load-config-file.ts';
import { describeSchemaErrors } from '../internal/schema-errors.ts';
import { isRecord } from '../internal/is-record.ts';
import { safeMerge, unsafeKeyPath } from '../internal/safe-merge.ts';

/** Settings given on the command line; they win over everything else. */
export interface CliOverrides {
  host?: string;
  port?: number;
  workers?: number;
  reload?: boolean;
  config?: string;
}

/** Where the configuration comes from. */
export interface ResolveConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  cli?: CliOverrides;
  /** An inline config used instead of a file (for embedding and tests). */
  inline?: Record<string, unknown>;
}

/** The validated configuration, with the kernel's keys typed and plugin sections kept. */
export type ApflowConfig = KernelConfig & Readonly<Record<string, unknown>>;

/** A resolved configuration and where it came from. */
export interface LoadedConfig {
  config: ApflowConfig;
  /** The config file read, or null when none was. */
  file: string | null;
  /** Folder that relative paths in the config file resolve against. */
  baseDir: string;
  /** The environment it was read with (plugins read their own variables, e.g. provider keys, here). */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Loads and validates the configuration. Precedence: CLI flag > environment > config file >
 * default. Relative paths in the file, and the default paths, resolve from the file's folder;
 * those from the environment from `cwd`.
 */
export async function resolveConfig(options: ResolveConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const cli = options.cli ?? {};
  const explicit = cli.config ?? configFileEnvNames.map((name) => env[name]).find(Boolean);
  const file = options.inline ? null : findConfigFile(cwd, explicit);
  const fileLayer = options.inline ?? (file ? await readConfigFile(file) : {});
  refuseUnsafeKeys(fileLayer, file ? `config file ${file}` : 'the inline configuration');
  const baseDir = file ? dirname(file) : cwd;

  const merged = mergeLayers([
    resolvePaths(structuredClone(fileLayer), baseDir),
    resolvePaths(readEnvLayer(env), cwd),
    cliLayer(cli),
  ]);
  // Paths still relative here are defaults: they belong to the config file's folder (else the cwd).
  const defaulted = Value.Default(KernelConfigSchema, merged);
  const withDefaults = isRecord(defaulted) ? resolvePaths(defaulted, baseDir) : defaulted;
  // Checked once a start: TypeBox's interpreter, without compiling a validator for it.
  if (!Value.Check(KernelConfigSchema, withDefaults)) {
    const where = file ? ` (config file ${file}, environment and flags)` : '';
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `invalid configuration${where}:\n${describeSchemaErrors(Value.Errors(KernelConfigSchema, withDefaults))}`,
    });
  }
  const { auth } = withDefaults;
  // A JWT secret turns authentication on, as in the guide (AIPARTNERUPFLOW_JWT_SECRET alone enables it).
  if (auth.jwt_secret) auth.enabled = true;
  return { config: Object.freeze(withDefaults), file, baseDir, env };
}

function cliLayer(cli: CliOverrides): Record<string, unknown> {
  const server: Record<string, unknown> = {};
  if (cli.host !== undefined) server.host = cli.host;
  if (cli.port !== undefined) server.port = cli.port;
  if (cli.workers !== undefined) server.workers = cli.workers;
  return { server, ...(cli.reload ? { reload: true } : {}) };
}

function mergeLayers(layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) safeMerge(out, layer);
  return out;
}

/**
 * A key such as `__proto__` would reach `Object.prototype` through a merge (every object of the
 * process would then carry the config's values): refused at load, naming where it is.
 */
function refuseUnsafeKeys(layer: Record<string, unknown>, source: string): void {
  const path = unsafeKeyPath(layer);
  if (path !== null) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `invalid configuration (${source}): the key '${path}' is not allowed (__proto__, constructor and prototype are never config keys)`,
    });
  }
}

/** Makes the known path-valued keys absolute against `baseDir`. */
function resolvePaths(layer: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const { database, executors } = layer;
  if (isRecord(database) && typeof database.url === 'string') database.url = absoluteSqliteUrl(database.url, baseDir);
  if (isRecord(executors) && Array.isArray(executors.dirs)) {
    executors.dirs = executors.dirs.map((dir) => (typeof dir === 'string' ? resolve(baseDir, dir) : dir));
  }
  if (Array.isArray(layer.plugins)) {
    layer.plugins = layer.plugins.map((entry) => resolvePluginEntry(entry, baseDir));
  }
  return layer;
}

function resolvePluginEntry(entry: unknown, baseDir: string): unknown {
  const local = (spec: string) => (spec.startsWith('.') || isAbsolute(spec) ? resolve(baseDir, spec) : spec);
  if (typeof entry === 'string') return local(entry);
  if (isRecord(entry) && typeof entry.name === 'string') return { ...entry, name: local(entry.name) };
  return entry;
}

/** `sqlite:<relative path>` becomes absolute; other URLs are returned as they are. */
export function absoluteSqliteUrl(url: string, baseDir: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return `sqlite:${resolve(baseDir, path)}`;
}
