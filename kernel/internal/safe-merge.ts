import { isRecord } from './is-record.ts';

/**
 * Keys that must never be merged from input into an object: assigning `__proto__` replaces an
 * object's prototype, and walking into `constructor` / `prototype` reaches shared prototypes
 * (prototype pollution). `JSON.parse` and YAML parsers keep such keys as plain own properties;
 * the danger is in code that copies them with `target[key] = value`.
 */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether `key` is one of {@link UNSAFE_KEYS}. */
export function isUnsafeKey(key: string): boolean {
  return UNSAFE_KEYS.has(key);
}

/**
 * The dotted path (e.g. `server.__proto__`) of the first unsafe key anywhere inside `value`, or
 * null when there is none. Iterative: it also runs on values nested deeper than the stack allows.
 */
export function unsafeKeyPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']];
  const seen = new Set<object>();
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [current, path] = top;
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const entries = Array.isArray(current)
      ? current.map((item, index) => [String(index), item] as const)
      : Object.entries(current);
    for (const [key, child] of entries) {
      const at = Array.isArray(current) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (!Array.isArray(current) && isUnsafeKey(key)) return at;
      stack.push([child, at]);
    }
  }
  return null;
}

/**
 * Sets `target[key] = value` as a plain own data property, whatever the key: `__proto__` stays
 * data instead of replacing the prototype. For merges whose keys are user data (task inputs).
 */
export function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `Object.assign(target, source)` without its danger: the own entries of `source` are copied as
 * own data properties of `target`, skipping {@link UNSAFE_KEYS}. Returns `target`.
 */
export function safeAssign<T extends object>(target: T, source: object): T {
  for (const [key, value] of Object.entries(source)) if (!isUnsafeKey(key)) setOwn(target, key, value);
  return target;
}

/**
 * Merges `source` into `target`: nested plain objects are merged key by key (into fresh objects,
 * so `source` is never shared), anything else replaces. Unsafe keys ({@link UNSAFE_KEYS}) are
 * skipped; callers that must tell the user refuse them first with {@link unsafeKeyPath}.
 */
export function safeMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    if (isUnsafeKey(key)) continue;
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isRecord(value) && isRecord(current)) safeMerge(current, value);
    else setOwn(target, key, isRecord(value) ? safeMerge({}, value) : value);
  }
  return target;
}
