import { parseArgs } from 'node:util';
import { ApflowError } from '../errors/apflow-error.ts';

/** One option of a subcommand: parseArgs' definition plus its help line. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The help text; a value's name in it is shown after the flag (`--limit <n>`) via `value`. */
  description: string;
  value?: string;
}

/** What a subcommand's action gets: the parsed options and the positional arguments. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** One subcommand of a group (`apflow tasks count`). */
export interface Subcommand {
  name: string;
  /** The arguments shown in help: `<id>`, `[ids...]`. */
  args?: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes (default: none). */
  positionals?: { min: number; max: number };
  run(parsed: Parsed): Promise<void>;
}

/** Options of every subcommand that talks to apflow: where, and as whom. */
export const CONNECT_OPTIONS: Record<string, OptionSpec> = {
  server: {
    type: 'string',
    value: 'url',
    description: 'A running server to use (env APFLOW_SERVER_URL); default: the configured database, here',
  },
  token: {
    type: 'string',
    value: 'token',
    description:
      'Its bearer token (visible to other users in the process list: prefer APFLOW_TOKEN or apflow login URL --token-stdin); default: the saved apflow login of that server',
  },
  config: { type: 'string', value: 'file', description: 'Config file (env APFLOW_CONFIG), for the local database' },
};

/**
 * Runs `apflow GROUP SUBCOMMAND …`: each subcommand parses its own flags (the original's short
 * flags mean different things in different subcommands: `-f` is --file, --force or --format),
 * strictly, so a mistyped flag is an error that names it. `--help` (or `-h`) anywhere prints
 * help: no subcommand may declare `h` as a short flag.
 */
export async function runGroup(
  group: string,
  summary: string,
  subcommands: Subcommand[],
  argv: string[],
): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(groupHelp(group, summary, subcommands));
    return;
  }
  const subcommand = subcommands.find((one) => one.name === name);
  if (!subcommand)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `unknown action '${group} ${name}' (use one of: ${subcommands.map((one) => one.name).join(', ')})`,
    });
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(subcommandHelp(group, subcommand));
    return;
  }
  const options = Object.fromEntries(
    Object.entries(subcommand.options).map(([key, spec]) => [
      key,
      { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) },
    ]),
  );
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (error) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${group} ${name}: ${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (see 'apflow ${group} ${name} --help')`,
    });
  }
  const { min, max } = subcommand.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `'${group} ${name}' takes ${subcommand.args ?? 'no arguments'}: usage 'apflow ${group} ${name}${subcommand.args ? ` ${subcommand.args}` : ''} [options]'`,
    });
  }
  await subcommand.run(parsed);
}

function groupHelp(group: string, summary: string, subcommands: Subcommand[]): string {
  const width = Math.max(...subcommands.map((one) => `${one.name} ${one.args ?? ''}`.length));
  const rows = subcommands.map((one) => `  ${`${one.name} ${one.args ?? ''}`.padEnd(width)}  ${one.summary}`);
  return `${summary}\n\nUsage: apflow ${group} <action> [options]\n\nActions:\n${rows.join('\n')}\n\n'apflow ${group} <action> --help' lists its options.\n`;
}

function subcommandHelp(group: string, subcommand: Subcommand): string {
  const flags = Object.entries(subcommand.options).map(([key, spec]) => {
    const value = spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : '';
    return [`${spec.short ? `-${spec.short}, ` : '    '}--${key}${value}`, spec.description] as const;
  });
  const width = Math.max(0, ...flags.map(([flag]) => flag.length));
  const rows = flags.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
  return `${subcommand.summary}\n\nUsage: apflow ${group} ${subcommand.name}${subcommand.args ? ` ${subcommand.args}` : ''} [options]\n\nOptions:\n${rows.join('\n')}\n`;
}

/** A string option's value, or undefined. */
export const text = (parsed: Parsed, key: string): string | undefined => {
  const value = parsed.values[key];
  return typeof value === 'string' ? value : undefined;
};

/** A whole number option, or undefined; anything else is an error naming the flag. */
export function integer(parsed: Parsed, key: string): number | undefined {
  const value = text(parsed, key);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number))
    throw new ApflowError('APF_INVALID_PARAMS', { message: `--${key} must be a whole number, not '${value}'` });
  return number;
}

/** A JSON option parsed, or undefined; invalid JSON is an error naming the flag. */
export function json(parsed: Parsed, key: string): unknown {
  const value = text(parsed, key);
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new ApflowError('APF_PARSE_ERROR', { message: `--${key} is not valid JSON: ${(error as Error).message}` });
  }
}

/** A number option (`--progress 0.5`, `--temperature 0.7`), or undefined; anything else is an error naming the flag. */
export function decimal(parsed: Parsed, key: string): number | undefined {
  const value = text(parsed, key);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number))
    throw new ApflowError('APF_INVALID_PARAMS', { message: `--${key} must be a number, not '${value}'` });
  return number;
}

/** A comma-separated option as a list (`--reset-fields a,b`), or undefined when absent. */
export function list(parsed: Parsed, key: string): string[] | undefined {
  const value = text(parsed, key);
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new ApflowError('APF_INVALID_PARAMS', { message: `--${key} needs at least one value (a,b,…)` });
  return items;
}
