/** Secrets shorter than this are not scrubbed (they would match ordinary text). */
const MIN_LENGTH = 8;

const without = (text: string, secrets: readonly string[]) =>
  secrets.reduce((out, secret) => out.split(secret).join('***'), text);

/** `text` with every one of `secrets` replaced by `***`. */
export function scrubText(text: string, secrets: Iterable<string>): string {
  const present = [...secrets].filter((secret) => secret.length >= MIN_LENGTH && text.includes(secret));
  return present.length ? without(text, present) : text;
}

/** A JSON value with every one of `secrets` replaced by `***` wherever it appears in a string. */
export function scrubJson<T>(value: T, secrets: Iterable<string>): T {
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  const scrubbed = scrubText(text, secrets);
  // Only text inside strings changed, so the parsed copy has the shape `value` had.
  return scrubbed === text ? value : (JSON.parse(scrubbed) as T);
}
