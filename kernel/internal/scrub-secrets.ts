import { mapStrings } from './map-strings.ts';

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
  return list.length ? (mapStrings(value, (text) => scrubText(text, list), { keys: true }) as T) : value;
}
