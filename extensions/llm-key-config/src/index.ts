import { ApflowError, definePlugin, isApflowError, Type, type PluginApp, type Static } from 'apflow';
import { MIN_SECRET_LENGTH } from './key-codec.ts';
import { LLMKeyConfigManager } from './key-manager.ts';
import { openRedisKeyStore, sharedMemoryKeyStore, type KeyStore } from './key-stores.ts';
import { problemOf, registerSystemMethods } from './system-methods.ts';

export { LLMKeyConfigManager, DEFAULT_PROVIDER, type LLMKeyConfigManagerOptions } from './key-manager.ts';
export { createMemoryKeyStore, openRedisKeyStore, type KeyStore, type RedisKeyStoreOptions } from './key-stores.ts';

/** The environment variable holding the encryption secret when the options give none. */
export const SECRET_ENV = 'APFLOW_LLM_KEY_SECRET';

/** The plugin's options (the config's `plugins: [{ name: '@apflow/llm-key-config', options }]`). */
export const LLMKeyConfigOptions = Type.Object(
  {
    store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
    redis_url: Type.Optional(Type.String({ minLength: 1 })),
    key_prefix: Type.String({ minLength: 1, default: 'apflow:llm-keys:' }),
    encryption_key: Type.Optional(Type.String({ minLength: MIN_SECRET_LENGTH })),
  },
  { additionalProperties: false },
);
export type LLMKeyConfigOptions = Static<typeof LLMKeyConfigOptions>;

/**
 * Per-user LLM keys: `config.llm_key.set|get|delete` on `/system`, and the `keyResolve` step
 * between the request header (stage −100) and the environment (stage 100).
 */
export default definePlugin<LLMKeyConfigOptions>({
  name: 'llm-key-config',
  description: 'Per-user LLM API keys (config.llm_key.*), in memory or Redis, encrypted at rest',
  options: LLMKeyConfigOptions,
  async setup(app) {
    const encryptionKey = secretOf(app);
    const store = await openStore(app, encryptionKey);
    const keys = new LLMKeyConfigManager({ store, encryptionKey });
    app.log.info({ store: store.kind, encrypted: keys.encrypted }, 'LLM key config ready');

    app.hooks.keyResolve.tapPromise({ name: 'llm-key-config', stage: 0 }, async (request) => {
      // A tree without an owner uses the 'default' user's keys, as the original did.
      const userId = request.user_id ?? 'default';
      try {
        return await keys.getKey(userId, request.provider);
      } catch (error) {
        // A provider or user id no key could be filed under: nothing configured, the next step decides.
        if (isApflowError(error) && error.code === 'APF_INVALID_PARAMS') return undefined;
        // Not the environment's key instead: a user with a key of their own must not be billed elsewhere.
        app.log.warn(
          { user_id: userId, provider: request.provider, problem: problemOf(error) },
          'LLM key lookup failed',
        );
        throw new ApflowError('APF_UNAVAILABLE', { message: 'The LLM key store is unavailable; try again later' });
      }
    });
    registerSystemMethods(app, keys);

    // The memory store belongs to the server (it outlives reloads); only Redis connections close.
    return store.kind === 'redis' ? () => keys.close() : undefined;
  },
});

function secretOf(app: PluginApp<LLMKeyConfigOptions>): string | undefined {
  if (app.options.encryption_key !== undefined) return app.options.encryption_key;
  const fromEnv = app.env[SECRET_ENV];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (fromEnv.length < MIN_SECRET_LENGTH) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `${SECRET_ENV} must have at least ${MIN_SECRET_LENGTH} characters`,
    });
  }
  return fromEnv;
}

async function openStore(app: PluginApp<LLMKeyConfigOptions>, encryptionKey: string | undefined): Promise<KeyStore> {
  const { store, redis_url: url, key_prefix: prefix } = app.options;
  if (store === 'memory') return sharedMemoryKeyStore(app.engine);
  if (!url)
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: "the redis store needs the option 'redis_url' (redis://host:port/db)",
    });
  if (encryptionKey === undefined) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `the redis store keeps keys encrypted at rest: set the option 'encryption_key' or the environment variable ${SECRET_ENV} (at least ${MIN_SECRET_LENGTH} characters)`,
    });
  }
  return openRedisKeyStore({
    url,
    prefix,
    onError: (problem) => app.log.warn({ problem }, 'Redis connection problem'),
  });
}
