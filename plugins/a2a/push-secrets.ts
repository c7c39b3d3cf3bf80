import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A push config's secrets: the token and the authentication credentials. */
export interface PushSecrets {
  token?: string;
  credentials?: string;
}

/**
 * Keeps push secrets out of the database in the clear: sealed with AES-256-GCM under a key
 * derived from `a2a.secrets_key` when there is one, else held in this process's memory only.
 */
export function createPushSecrets(secretsKey: string | undefined) {
  const key = secretsKey ? createHash('sha256').update(secretsKey).digest() : undefined;
  const memory = new Map<string, PushSecrets>();
  return {
    /** Whether secrets survive a restart. */
    durable: key !== undefined,
    /** What to store for `secrets` of config `ref` (null: nothing, or kept in memory). */
    seal(ref: string, secrets: PushSecrets): string | null {
      if (!secrets.token && !secrets.credentials) {
        memory.delete(ref);
        return null;
      }
      if (!key) {
        memory.set(ref, secrets);
        return null;
      }
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join('.');
    },
    /** The secrets of config `ref` (empty when lost: no key and a restart, or a changed key). */
    open(ref: string, stored: string | null): PushSecrets {
      if (!stored) return memory.get(ref) ?? {};
      if (!key) return {};
      try {
        const [, iv, tag, sealed] = stored.split('.') as [string, string, string, string];
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        return JSON.parse(
          Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8'),
        ) as PushSecrets;
      } catch {
        return {};
      }
    },
    forget(ref: string): void {
      memory.delete(ref);
    },
  };
}
