import { ApflowError } from 'apflow';

/**
 * Where encoded keys live: per user, one value per provider. Values are already encoded (sealed
 * when there is a secret); a store never sees a key in the clear unless the memory store runs
 * without a secret.
 */
export interface KeyStore {
  readonly kind: 'memory' | 'redis';
  get(userId: string, provider: string): Promise<string | undefined>;
  set(userId: string, provider: string, value: string): Promise<void>;
  /** Deletes one provider's value, or all of the user's with none; true if something was there. */
  delete(userId: string, provider?: string): Promise<boolean>;
  /** The providers the user has a value for, sorted. */
  providers(userId: string): Promise<string[]>;
  /** Releases connections (the memory store has none). */
  close(): Promise<void>;
}

/** A store in this process's memory (lost on restart; every server has its own). */
export function createMemoryKeyStore(): KeyStore {
  const users = new Map<string, Map<string, string>>();
  return {
    kind: 'memory',
    get: async (userId, provider) => users.get(userId)?.get(provider),
    async set(userId, provider, value) {
      const values = users.get(userId) ?? new Map<string, string>();
      values.set(provider, value);
      users.set(userId, values);
    },
    async delete(userId, provider) {
      const values = users.get(userId);
      if (!values) return false;
      if (provider === undefined) return users.delete(userId);
      const deleted = values.delete(provider);
      if (values.size === 0) users.delete(userId);
      return deleted;
    },
    providers: async (userId) => [...(users.get(userId)?.keys() ?? [])].sort(),
    close: async () => undefined,
  };
}

// Process-wide, so a fresh import of this module (a hot reload) still finds the stores.
const SHARED = Symbol.for('@apflow/llm-key-config/memory-stores');
type Shared = { [SHARED]?: WeakMap<object, KeyStore> };

/**
 * The memory store of one server (`owner`: something that outlives its generations, such as
 * `app.engine`), so a hot reload keeps the keys while two servers in one process stay apart.
 */
export function sharedMemoryKeyStore(owner: object): KeyStore {
  // A process-wide slot of globalThis (which has no type for it): only this function uses it.
  const registry = ((globalThis as Shared)[SHARED] ??= new WeakMap<object, KeyStore>());
  let store = registry.get(owner);
  if (!store) registry.set(owner, (store = createMemoryKeyStore()));
  return store;
}

/** How to reach Redis. */
export interface RedisKeyStoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…` for TLS. */
  url: string;
  /** Prefix of the Redis keys: one hash per user, `<prefix><user_id>`, fields = providers. */
  prefix?: string;
  /** Told about connection problems (messages only: they carry no keys). */
  onError?: (message: string) => void;
}

/** The URL without credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return '(an unparsable URL)';
  }
}

/**
 * Connects to Redis and returns a store shared by every server using the same Redis and prefix.
 * Rejects with APF_UNAVAILABLE (naming the URL without credentials) when Redis cannot be reached.
 */
export async function openRedisKeyStore(options: RedisKeyStoreOptions): Promise<KeyStore> {
  const prefix = options.prefix ?? 'apflow:llm-keys:';
  let lastError = '';
  // Loaded here, not at start: the memory store (the default) needs no Redis client (0.25 s, 23 MB).
  const { Redis } = await import('ioredis');
  const client = new Redis(options.url, {
    lazyConnect: true,
    // Shown by CLIENT LIST, so operators (and the tests) can tell these connections apart.
    connectionName: 'apflow-llm-key-config',
    connectTimeout: 5000,
    commandTimeout: 5000,
    // While Redis is away, fail at once (the caller sees APF_UNAVAILABLE) instead of queueing
    // requests and task runs behind reconnection attempts; reconnect every second at most.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  client.on('error', (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    options.onError?.(error.message);
  });
  client.on('ready', () => (lastError = ''));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const reason = lastError || (error instanceof Error ? error.message : String(error));
    throw new ApflowError('APF_UNAVAILABLE', { message: `cannot reach Redis at ${redactUrl(options.url)}: ${reason}` });
  }
  const hash = (userId: string) => `${prefix}${userId}`;
  return {
    kind: 'redis',
    get: async (userId, provider) => (await client.hget(hash(userId), provider)) ?? undefined,
    async set(userId, provider, value) {
      await client.hset(hash(userId), provider, value);
    },
    async delete(userId, provider) {
      const removed =
        provider === undefined ? await client.del(hash(userId)) : await client.hdel(hash(userId), provider);
      return removed > 0;
    },
    providers: async (userId) => (await client.hkeys(hash(userId))).sort(),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
