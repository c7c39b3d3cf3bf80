import { mapStrings } from '../internal/map-strings.ts';
import { isSealed, type SecretSealer } from './secret-sealer.ts';

type Json = unknown;

/** Every string inside `value` sealed, already sealed ones kept. */
const sealAll = (value: Json, sealer: SecretSealer): Json =>
  mapStrings(value, (text) => (isSealed(text) || text === '' ? text : sealer.seal(text)));

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
  const opened = mapStrings(inputs, (text) => {
    if (!isSealed(text)) return text;
    const plain = sealer.open(text);
    secrets.push(plain);
    return plain;
  });
  // Strings only change, so an object stays an object.
  return { inputs: opened as Record<string, unknown>, secrets };
}
