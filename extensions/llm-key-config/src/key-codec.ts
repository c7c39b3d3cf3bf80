import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** The shortest encryption secret accepted (the option's and the environment variable's). */
export const MIN_SECRET_LENGTH = 32;

/**
 * How a key is written to a store and read back. `context` (user and provider) is bound to the
 * stored value, so a value copied to another user or provider does not open.
 */
export interface KeyCodec {
  /** True when stored values are encrypted. */
  readonly sealed: boolean;
  encode(key: string, context: string): string;
  /** The key, or undefined when the value was written by another codec or secret, or was altered. */
  decode(stored: string, context: string): string | undefined;
}

const PLAIN = 'plain:';
const SEALED = 'v1.';

/** Keeps keys as they are (the memory store without a secret: nothing leaves the process). */
export function plainCodec(): KeyCodec {
  return {
    sealed: false,
    encode: (key) => `${PLAIN}${key}`,
    decode: (stored) => (stored.startsWith(PLAIN) ? stored.slice(PLAIN.length) : undefined),
  };
}

/**
 * Seals keys with AES-256-GCM under a key derived from `secret` (HKDF-SHA-256): a fresh 96-bit IV
 * per value, the user and provider as additional authenticated data. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64).
 */
export function sealingCodec(secret: string): KeyCodec {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the encryption secret must have at least ${MIN_SECRET_LENGTH} characters`);
  }
  const key = Buffer.from(hkdfSync('sha256', secret, 'apflow:llm-key-config', 'aes-256-gcm v1', 32));
  return {
    sealed: true,
    encode(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${SEALED}${[iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64')).join('.')}`;
    },
    decode(stored, context) {
      if (!stored.startsWith(SEALED)) return undefined;
      const parts = stored.slice(SEALED.length).split('.');
      const [iv, tag, sealed, ...more] = parts.map((part) => Buffer.from(part, 'base64'));
      if (!iv || !tag || !sealed || more.length > 0) return undefined;
      // A full-length tag only: GCM would otherwise accept a truncated (weaker) one.
      if (iv.length !== 12 || tag.length !== 16) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
      } catch {
        // Another secret, another user or provider, or an altered value: as if there were none.
        return undefined;
      }
    },
  };
}
