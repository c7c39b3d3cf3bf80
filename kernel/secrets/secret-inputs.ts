import { isSealed, type SecretSealer } from './secret-sealer.ts';

type Json = unknown;

/** Every string inside `value` sealed (objects and arrays walked), already sealed ones kept. */
function sealAll(value: Json, sealer: SecretSealer): Json {
  if (typeof value === 'string') return isSealed(value) || value === '' ? value : sealer.seal(value);
  if (Array.isArray(value)) return value.map((item) => sealAll(item, sealer));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, sealAll(item, sealer)]));
  return value;
}

/**
 * `inputs` with the values at `paths` (dotted; a path naming an object or array covers every
 * string inside) sealed. Returns `inputs` itself when nothing was sealed.
 */
export function sealInputs(
  inputs: Record<string, unknown>,
  paths: readonly string[],
  sealer: SecretSealer,
): Record<string, unknown> {
  let out = inputs;
  for (const path of paths) {
    const keys = path.split('.');
    const sealed = sealAt(out, keys, sealer);
    if (sealed !== out) out = sealed as Record<string, unknown>;
  }
  return out;
}

function sealAt(value: Json, keys: readonly string[], sealer: SecretSealer): Json {
  if (keys.length === 0) return sealAll(value, sealer);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const [key, ...rest] = keys as [string, ...string[]];
  if (!Object.hasOwn(value, key)) return value;
  const current = (value as Record<string, unknown>)[key];
  const next = sealAt(current, rest, sealer);
  return next === current ? value : { ...value, [key]: next };
}

/**
 * `inputs` with every sealed value opened, wherever it is, and the plain secrets found (to take
 * them out of what the run leaves behind). Throws when one cannot be opened here.
 */
export function openInputs(
  inputs: Record<string, unknown>,
  sealer: SecretSealer,
): { inputs: Record<string, unknown>; secrets: string[] } {
  const secrets: string[] = [];
  const walk = (value: Json): Json => {
    if (isSealed(value)) {
      const plain = sealer.open(value);
      secrets.push(plain);
      return plain;
    }
    if (Array.isArray(value)) {
      const items = value.map(walk);
      return items.some((item, index) => item !== value[index]) ? items : value;
    }
    if (value && typeof value === 'object') {
      let changed = false;
      const entries = Object.entries(value).map(([key, item]) => {
        const next = walk(item);
        if (next !== item) changed = true;
        return [key, next] as const;
      });
      return changed ? Object.fromEntries(entries) : value;
    }
    return value;
  };
  return { inputs: walk(inputs) as Record<string, unknown>, secrets };
}
