import { ApflowError, isApflowError, mayAccess, Type, type PluginApp, type RpcContext } from 'apflow';
import { DEFAULT_PROVIDER, LIMITS, normaliseProvider, type LLMKeyConfigManager } from './key-manager.ts';

const UserId = Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.user_id }), Type.Null()]));
const Provider = Type.Optional(Type.Union([Type.String({ maxLength: LIMITS.provider }), Type.Null()]));

const SetParams = Type.Object({
  api_key: Type.String({ minLength: 1, maxLength: LIMITS.api_key }),
  user_id: UserId,
  provider: Provider,
});
const LookupParams = Type.Object({ user_id: UserId, provider: Provider });

type Verb = 'set' | 'get' | 'delete';

/**
 * The original's `config.llm_key.set|get|delete` on `/system`. No answer ever holds a key. With
 * authentication on, `user_id` defaults to the caller's and a non-administrator may name only
 * their own.
 */
export function registerSystemMethods(app: Pick<PluginApp, 'rpc' | 'log'>, keys: LLMKeyConfigManager): void {
  app.rpc.method('/system', 'config.llm_key.set', {
    description: "Stores an LLM API key for a user and provider (default: the user's 'default' key)",
    params: SetParams,
    async handler(params, ctx) {
      const userId = target(params.user_id, ctx, 'set');
      const provider = normaliseProvider(params.provider);
      await guarded(app, () => keys.setKey(userId, provider, params.api_key));
      app.log.info({ user_id: userId, provider }, 'LLM key stored');
      return { success: true, user_id: userId, provider };
    },
  });
  app.rpc.method('/system', 'config.llm_key.get', {
    description: 'Whether a user has an LLM key for a provider, and the providers they have keys for (never the keys)',
    params: LookupParams,
    async handler(params, ctx) {
      const userId = target(params.user_id, ctx, 'get');
      const provider = normaliseProvider(params.provider);
      try {
        const [key, providers] = await Promise.all([keys.getKey(userId, provider), keys.listProviders(userId)]);
        return { has_key: key !== undefined, user_id: userId, provider, providers };
      } catch (error) {
        // As the original: a lookup never fails, it finds nothing.
        app.log.warn({ user_id: userId, problem: problemOf(error) }, 'LLM key lookup failed');
        return { has_key: false, user_id: userId, provider, providers: {} };
      }
    },
  });
  app.rpc.method('/system', 'config.llm_key.delete', {
    description: "Deletes a user's LLM key for a provider, or all of their keys when no provider is given",
    params: LookupParams,
    async handler(params, ctx) {
      const userId = target(params.user_id, ctx, 'delete');
      const provider = params.provider ? normaliseProvider(params.provider) : undefined;
      const deleted = await guarded(app, () => keys.deleteKey(userId, provider));
      app.log.info({ user_id: userId, provider: provider ?? 'all', deleted }, 'LLM key deleted');
      return { success: true, user_id: userId, deleted, provider: provider ?? 'all' };
    },
  });
}

/** The user a call acts on: the given one (if the caller may), else the caller, else `default`. */
function target(given: string | null | undefined, ctx: RpcContext, verb: Verb): string {
  const principal = ctx.principal;
  const userId = given || principal?.user_id || (verb === 'set' ? undefined : DEFAULT_PROVIDER);
  if (userId === undefined)
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'user_id is required (not authenticated)' });
  if (!mayAccess(principal, userId)) {
    throw new ApflowError('APF_FORBIDDEN', {
      message: `Permission denied: user ${principal?.user_id} can only ${verb} their own LLM keys, not user ${userId}'s`,
    });
  }
  return userId;
}

/** Runs a store operation; a store failure becomes APF_UNAVAILABLE (logged without details that matter to clients). */
async function guarded<T>(app: Pick<PluginApp, 'log'>, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isApflowError(error)) throw error;
    app.log.warn({ problem: problemOf(error) }, 'LLM key store failed');
    throw new ApflowError('APF_UNAVAILABLE', { message: 'The LLM key store is unavailable; try again later' });
  }
}

/** An error's message only (store errors carry no keys; stacks and causes stay out of logs). */
export function problemOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
