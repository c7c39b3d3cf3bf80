/** Shortest part of a key (its start or its end) that counts as the key when echoed. */
const MIN_ECHO = 8;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` with `secret` removed: the whole secret, any run starting with its first 8 characters
 * and any run ending with its last 8 (providers echo keys whole or half-masked, e.g. `sk-abcd1234…wxyz`).
 */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text.split(secret).join('***');
  if (secret.length >= MIN_ECHO) {
    const head = escape(secret.slice(0, MIN_ECHO));
    const tail = escape(secret.slice(-MIN_ECHO));
    out = out.replace(new RegExp(`${head}[^\\s"',]*`, 'g'), '***').replace(new RegExp(`[^\\s"',]*${tail}`, 'g'), '***');
  }
  return out;
}

/** The message of `error`, with `secret` scrubbed from it. */
export function scrubbedMessage(error: unknown, secret: string | undefined): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return scrubSecret(message, secret);
}
