import { ApflowError } from 'apflow';

/** The environment as `PluginApp.env` gives it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The first of `names` set to a non-blank value, with its name. */
export function firstEnv(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** A boolean variable (true/false, 1/0, yes/no), or undefined when unset. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const set = firstEnv(env, name);
  if (!set) return undefined;
  if (/^(1|true|yes)$/i.test(set.value)) return true;
  if (/^(0|false|no)$/i.test(set.value)) return false;
  throw invalid(`environment variable ${name} must be true or false, got '${set.value}'`);
}

/** A number variable within `min`..`max`, or undefined when unset. */
export function envNumber(env: Env, name: string, min: number, max: number): number | undefined {
  const set = firstEnv(env, name);
  if (!set) return undefined;
  const value = Number(set.value);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw invalid(`environment variable ${name} must be a number from ${min} to ${max}, got '${set.value}'`);
  }
  return value;
}

/**
 * A `key1=value1,key2=value2` list (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES), values
 * percent-decoded. A bad entry stops the start; the message names the variable and the entry's
 * place, never its text (headers hold credentials).
 */
export function envList(env: Env, name: string): Record<string, string> {
  const raw = env[name]?.trim();
  const list: Record<string, string> = {};
  if (!raw) return list;
  raw.split(',').forEach((entry, index) => {
    if (entry.trim() === '') return;
    const at = entry.indexOf('=');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    let value: string | undefined;
    try {
      value = key ? decodeURIComponent(entry.slice(at + 1).trim()) : undefined;
    } catch {
      value = undefined;
    }
    if (!key || value === undefined) {
      throw invalid(`environment variable ${name}: entry ${index + 1} is not key=value (URL-encoded value)`);
    }
    list[key] = value;
  });
  return list;
}

/** A start-stopping configuration error. */
export function invalid(message: string): ApflowError {
  return new ApflowError('APF_CONFIG_INVALID', { message });
}
