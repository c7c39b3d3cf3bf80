import type { TLocalizedValidationError } from 'typebox/error';

/** One error as TypeBox's `Errors()` yields it. */
type SchemaError = TLocalizedValidationError;

/**
 * Turns schema validation errors into lines that name the key and what was expected,
 * e.g. `- server.port: must be integer`. `prefix` names the root (e.g. `params`).
 */
export function describeSchemaErrors(errors: Iterable<SchemaError>, prefix = ''): string {
  const all = [...errors];
  // A choice of literals fails as one `const` error per choice, then `anyOf`: said as one line.
  const choices = new Map<string, unknown[]>();
  const mixed = new Set(all.filter((e) => e.keyword !== 'const' && e.keyword !== 'anyOf').map((e) => e.instancePath));
  for (const error of all)
    if (error.keyword === 'const' && !mixed.has(error.instancePath))
      (choices.get(error.instancePath) ?? setNew(choices, error.instancePath)).push(error.params.allowedValue);
  const lines = new Set<string>();
  for (const error of all) {
    // TypeBox reports an unknown key twice; the `additionalProperties` entry names it best.
    if (error.keyword === 'boolean' || (error.keyword === 'const' && choices.has(error.instancePath))) continue;
    const allowed = error.keyword === 'anyOf' ? choices.get(error.instancePath) : undefined;
    const line = allowed
      ? `${keyPath(error.instancePath, prefix) || '(root)'}: must be one of ${allowed.map((each) => JSON.stringify(each)).join(', ')}`
      : describeOne(error, prefix);
    lines.add(`- ${line}`);
  }
  return [...lines].join('\n');
}

function setNew(map: Map<string, unknown[]>, key: string): unknown[] {
  const list: unknown[] = [];
  map.set(key, list);
  return list;
}

function describeOne(error: SchemaError, prefix: string): string {
  const path = keyPath(error.instancePath, prefix);
  if (error.keyword === 'additionalProperties') {
    const extra = error.params.additionalProperties ?? [];
    return extra.map((key) => `${joinKey(path, key)}: unknown key`).join('; ') || `${path}: unknown key`;
  }
  if (error.keyword === 'required') {
    const missing = error.params.requiredProperties ?? [];
    return missing.map((key) => `${joinKey(path, key)}: is required`).join('; ') || `${path}: ${error.message}`;
  }
  return `${path || '(root)'}: ${error.message}`;
}

function keyPath(pointer: string, prefix: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const joined = parts.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('');
  const path = `${prefix}${joined}`;
  return path.startsWith('.') ? path.slice(1) : path;
}

function joinKey(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
