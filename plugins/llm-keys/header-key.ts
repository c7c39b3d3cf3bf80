/** An LLM key a request carried in `X-LLM-API-KEY`. */
export interface HeaderKey {
  /** Set by the `<provider>:<key>` form; the simple form leaves it to the model name. */
  provider?: string;
  key: string;
}

const PROVIDER = /^[a-z][a-z0-9_-]{1,30}$/i;

/**
 * Reads `X-LLM-API-KEY`: `<key>`, or `<provider>:<key>` (split on the first colon when both parts
 * are there and the first looks like a provider name).
 */
export function parseHeaderKey(value: string | string[] | undefined): HeaderKey | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  const colon = raw.indexOf(':');
  if (colon > 0 && colon < raw.length - 1 && PROVIDER.test(raw.slice(0, colon))) {
    return { provider: raw.slice(0, colon).toLowerCase(), key: raw.slice(colon + 1).trim() };
  }
  return { key: raw };
}

const SLOT = Symbol.for('apflow.llm-keys.header');

/**
 * Keeps the key in the request's plugin state without it being enumerable: the state can be
 * logged or serialised by mistake, the key still stays out.
 */
export function holdHeaderKey(state: Record<string, unknown>, key: HeaderKey): void {
  Object.defineProperty(state, SLOT, { value: key, enumerable: false, configurable: true });
}

/** A request's plugin state, as {@link holdHeaderKey} may have left it. */
type Holder = { readonly [SLOT]?: HeaderKey };

/** The header key held in a request's plugin state, if any. */
export function heldHeaderKey(state: Holder | undefined): HeaderKey | undefined {
  return state?.[SLOT];
}
