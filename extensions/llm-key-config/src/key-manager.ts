import { ApflowError } from 'apflow';
import { plainCodec, sealingCodec, type KeyCodec } from './key-codec.ts';
import { createMemoryKeyStore, type KeyStore } from './key-stores.ts';

/** The provider a key is filed under when none is named; also every user's fallback. */
export const DEFAULT_PROVIDER = 'default';
/** Longest accepted key, user id and provider name. */
export const LIMITS = { api_key: 8192, user_id: 256, provider: 64 } as const;

/** How to build an {@link LLMKeyConfigManager}. */
export interface LLMKeyConfigManagerOptions {
  /** Where keys live (default: a fresh memory store). */
  store?: KeyStore;
  /** Secret (32+ characters) to encrypt keys with (AES-256-GCM); without one the store holds them as given. */
  encryptionKey?: string;
}

/**
 * Per-user LLM API keys, one per provider plus an optional `default` one, as the original's
 * `LLMKeyConfigManager`. Keys go in through {@link setKey} and out only through {@link getKey};
 * listings show `***`. Every method is async (the store may be Redis).
 *
 * @example
 * const keys = new LLMKeyConfigManager({ encryptionKey: process.env.APFLOW_LLM_KEY_SECRET });
 * await keys.setKey('alice', 'openai', 'sk-…');
 * await keys.getKey('alice', 'openai'); // 'sk-…' (else alice's 'default' key)
 */
export class LLMKeyConfigManager {
  readonly #store: KeyStore;
  readonly #codec: KeyCodec;

  constructor(options: LLMKeyConfigManagerOptions = {}) {
    this.#store = options.store ?? createMemoryKeyStore();
    this.#codec = options.encryptionKey === undefined ? plainCodec() : sealingCodec(options.encryptionKey);
  }

  /** True when keys are encrypted in the store. */
  get encrypted(): boolean {
    return this.#codec.sealed;
  }

  /** Where the keys live. */
  get storeKind(): KeyStore['kind'] {
    return this.#store.kind;
  }

  /** Files `key` for `userId` under `provider` (default: `default`), replacing any earlier one. */
  async setKey(userId: string, provider: string | undefined, key: string): Promise<void> {
    const user = checkUser(userId);
    const name = normaliseProvider(provider);
    if (typeof key !== 'string' || key.trim() === '') throw invalid('api_key is required');
    if (key.length > LIMITS.api_key) throw invalid(`api_key must have at most ${LIMITS.api_key} characters`);
    await this.#store.set(user, name, this.#codec.encode(key, context(user, name)));
  }

  /** The user's key for `provider`, else their `default` key, else undefined. */
  async getKey(userId: string, provider?: string): Promise<string | undefined> {
    const user = checkUser(userId);
    const name = normaliseProvider(provider);
    const own = await this.#read(user, name);
    if (own !== undefined || name === DEFAULT_PROVIDER) return own;
    return this.#read(user, DEFAULT_PROVIDER);
  }

  /** Deletes the user's key for `provider`, or all their keys with none; true if one was there. */
  async deleteKey(userId: string, provider?: string): Promise<boolean> {
    const user = checkUser(userId);
    return this.#store.delete(
      user,
      provider === undefined || provider === '' ? undefined : normaliseProvider(provider),
    );
  }

  /** The user's providers, each shown as `***` (never the key). */
  async listProviders(userId: string): Promise<Record<string, '***'>> {
    const user = checkUser(userId);
    return Object.fromEntries((await this.#store.providers(user)).map((name) => [name, '***' as const]));
  }

  /** Releases the store's connections. */
  async close(): Promise<void> {
    await this.#store.close();
  }

  async #read(user: string, provider: string): Promise<string | undefined> {
    const stored = await this.#store.get(user, provider);
    return stored === undefined ? undefined : this.#codec.decode(stored, context(user, provider));
  }
}

/** Provider names compare case-insensitively (`OpenAI` is `openai`); none means `default`. */
export function normaliseProvider(provider: string | undefined | null): string {
  if (provider === undefined || provider === null || provider.trim() === '') return DEFAULT_PROVIDER;
  const name = provider.trim().toLowerCase();
  if (name.length > LIMITS.provider) throw invalid(`provider must have at most ${LIMITS.provider} characters`);
  return name;
}

function checkUser(userId: string): string {
  if (typeof userId !== 'string' || userId === '') throw invalid('user_id is required');
  if (userId.length > LIMITS.user_id) throw invalid(`user_id must have at most ${LIMITS.user_id} characters`);
  return userId;
}

const context = (user: string, provider: string) => `${user}\u0000${provider}`;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
