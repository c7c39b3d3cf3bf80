/**
 * Whether `value` is a record of named values: an object that is neither null nor an array. The
 * guard that narrows `unknown` input (parsed JSON, config layers, params) before reading its keys.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
