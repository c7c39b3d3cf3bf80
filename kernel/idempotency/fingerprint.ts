import { createHash } from 'node:crypto';

/**
 * JSON with every object's keys sorted, at every depth: two requests that differ only in the
 * order of their keys are the same request. Values JSON drops (`undefined`, functions) are dropped.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * What tells a retry from a different request: a SHA-256 of the method and the canonical JSON
 * of its params (the key itself left out by the caller). Only the hash is stored.
 */
export function fingerprint(method: string, params: unknown): string {
  return createHash('sha256')
    .update(method)
    .update('\n')
    .update(canonicalJson(params) ?? 'null')
    .digest('hex');
}
