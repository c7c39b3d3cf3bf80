import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ApflowError } from '../errors/apflow-error.ts';

/** What a sealed value starts with: `apflow-sealed:v1:` (the lasting key) or `apflow-sealed:e1:` (this run's key). */
export const SEALED_PREFIX = 'apflow-sealed:';
const LASTING = `${SEALED_PREFIX}v1:`;
const SESSION = `${SEALED_PREFIX}e1:`;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Seals secret values for storage and opens them again for a run. */
export interface SecretSealer {
  /** Whether sealed values survive a restart and open on every server (a lasting key is set). */
  readonly durable: boolean;
  /** `text` sealed with AES-256-GCM under the lasting key, or this server run's key. */
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

const derive = (material: string) => createHash('sha256').update(material).digest();

/**
 * Builds the sealer. `key` is the lasting key material (every server with the same one opens
 * what another sealed); without it values are sealed under `sessionKey` — one per server run,
 * which `--workers` processes share — or a random key of this process, and open only there.
 */
export function createSecretSealer(options: { key?: string; sessionKey?: string; keySource?: string }): SecretSealer {
  const lasting = options.key ? derive(options.key) : undefined;
  const session = derive(options.sessionKey ?? randomBytes(32).toString('base64url'));
  const source = options.keySource ?? 'secrets.key';
  return {
    durable: lasting !== undefined,
    seal(text) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', lasting ?? session, iv, { authTagLength: TAG_BYTES });
      const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      const body = [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url')).join('.');
      return (lasting ? LASTING : SESSION) + body;
    },
    open(sealed) {
      const underLasting = sealed.startsWith(LASTING);
      if (!underLasting && !sealed.startsWith(SESSION)) throw lost('its form is unknown');
      const key = underLasting ? lasting : session;
      if (!key) throw lost('it was sealed under a lasting key (secrets.key), which this server does not have');
      const plain = decrypt(sealed.slice(LASTING.length), key);
      if (plain !== undefined) return plain;
      throw lost(
        underLasting
          ? `it was sealed under another key than this server's ${source}`
          : 'it was sealed by another server process, or before a restart, without a lasting key',
      );
    },
  };
}

/** The plain text of `iv.tag.data` (base64url) under `key`, or undefined when it does not open. */
function decrypt(body: string, key: Buffer): string | undefined {
  const [iv, tag, data, extra] = body.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !data || extra || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
