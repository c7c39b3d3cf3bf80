import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { ApflowError } from '../errors/apflow-error.ts';

/** What a sealed value starts with: `apflow-sealed:v1:` (under a key) or `apflow-sealed:m1:` (in memory). */
export const SEALED_PREFIX = 'apflow-sealed:';
const KEYED = `${SEALED_PREFIX}v1:`;
const MEMORY = `${SEALED_PREFIX}m1:`;

/** Seals secret values for storage and opens them again for a run. */
export interface SecretSealer {
  /** Whether a sealed value survives a restart and opens on every server (a key is set). */
  readonly durable: boolean;
  /** `text` sealed: AES-256-GCM under the key, or a reference to this process's memory. */
  seal(text: string): string;
  /** The plain text of a sealed value; throws APF_FORBIDDEN (not retried) when it cannot be opened here. */
  open(sealed: string): string;
}

/** Whether `value` is a sealed secret. */
export const isSealed = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith(SEALED_PREFIX);

const lost = (why: string) =>
  new ApflowError('APF_FORBIDDEN', {
    message: `a secret input of this task cannot be opened: ${why}; give the secret again (tasks.update inputs), and set secrets.key (APFLOW_SECRETS_KEY), the same on every server, so secrets survive restarts`,
  });

/**
 * Builds the sealer. With a key, values are sealed with AES-256-GCM under a key derived from it
 * (every server with the same key opens them); without one they are kept in this process's
 * memory and the database holds only a random reference.
 */
export function createSecretSealer(secretKey: string | undefined): SecretSealer {
  const key = secretKey ? createHash('sha256').update(secretKey).digest() : undefined;
  const memory = new Map<string, string>();
  return {
    durable: key !== undefined,
    seal(text) {
      if (!key) {
        const ref = randomUUID();
        memory.set(ref, text);
        return MEMORY + ref;
      }
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return KEYED + [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url')).join('.');
    },
    open(sealed) {
      if (sealed.startsWith(MEMORY)) {
        const found = memory.get(sealed.slice(MEMORY.length));
        if (found === undefined) throw lost('it was kept in the memory of another server process, or before a restart');
        return found;
      }
      if (!sealed.startsWith(KEYED)) throw lost('its form is unknown');
      if (!key) throw lost('it was sealed under secrets.key, which this server does not have');
      try {
        const [iv, tag, data] = sealed
          .slice(KEYED.length)
          .split('.')
          .map((part) => Buffer.from(part, 'base64url'));
        const decipher = createDecipheriv('aes-256-gcm', key, iv as Buffer);
        decipher.setAuthTag(tag as Buffer);
        return Buffer.concat([decipher.update(data as Buffer), decipher.final()]).toString('utf8');
      } catch {
        throw lost('it was sealed under another secrets.key');
      }
    },
  };
}
