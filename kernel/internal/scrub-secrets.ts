/** Secrets shorter than this are not scrubbed (they would match ordinary text). */
const MIN_LENGTH = 8;

const without = (text: string, secrets: readonly string[]) =>
  secrets.reduce((out, secret) => out.split(secret).join('***'), text);

/** `text` with every one of `secrets` replaced by `***`. */
export function scrubText(text: string, secrets: Iterable<string>): string {
  const present = [...secrets].filter((secret) => secret.length >= MIN_LENGTH && text.includes(secret));
  return present.length ? without(text, present) : text;
}

/**
 * A JSON value with every one of `secrets` replaced by `***` wherever it appears in a string
 * (keys included). Each string is scrubbed as it is, not as escaped in JSON text, so a secret
 * holding a quote, a backslash or a newline is found too. Unchanged parts are kept as they are.
 */
export function scrubJson<T>(value: T, secrets: Iterable<string>): T {
  const list = [...secrets].filter((secret) => secret.length >= MIN_LENGTH);
  return list.length ? (scrubValue(value, list) as T) : value;
}

function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (Array.isArray(value)) {
    const items = value.map((item) => scrubValue(item, secrets));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  if (value === null || typeof value !== 'object') return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const next: [string, unknown] = [scrubText(key, secrets), scrubValue(item, secrets)];
    if (next[0] !== key || next[1] !== item) changed = true;
    return next;
  });
  return changed ? Object.fromEntries(entries) : value;
}
