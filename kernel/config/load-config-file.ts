import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import { lazyRequire } from '../internal/lazy-require.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { importDefault } from '../internal/fresh-import.ts';
import { isRecord } from '../internal/is-record.ts';
import { configFileNames } from './config-file-names.ts';

const yaml = lazyRequire<typeof Yaml>('yaml');

/**
 * Finds the config file: `explicit` when given (it must exist), else the first of
 * {@link configFileNames} in `cwd`, else `null` (defaults apply).
 */
export function findConfigFile(cwd: string, explicit?: string): string | null {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ApflowError('APF_CONFIG_NOT_FOUND', { message: `config file not found: ${file}` });
    }
    return file;
  }
  for (const name of configFileNames) {
    const file = resolve(cwd, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** Reads a config file of any supported kind and returns its plain object. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const kind = extname(file).toLowerCase();
  let value: unknown;
  try {
    if (kind === '.json') value = JSON.parse(readFileSync(file, 'utf8'));
    else if (kind === '.yaml' || kind === '.yml') value = yaml().parse(readFileSync(file, 'utf8'));
    else if (['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(kind)) {
      const exported = await importDefault(file, { fresh: true });
      value = typeof exported === 'function' ? await exported() : exported;
    } else {
      throw new Error(`unsupported file type '${kind}' (use .ts, .js, .mjs, .json, .yaml or .yml)`);
    }
  } catch (error) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `cannot read config file ${file}: ${errorMessage(error)}`,
      cause: error,
    });
  }
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `config file ${file} must hold an object (a default export for .ts/.js files)`,
    });
  }
  return value;
}
