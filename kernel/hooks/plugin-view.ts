import { ApflowError } from '../errors/apflow-error.ts';
import type { Hooks } from './hooks.ts';

type TapArg = string | { name: string; stage?: number; before?: string };
type Tappable = {
  tap(options: TapArg, fn: never): void;
  tapAsync?(options: TapArg, fn: never): void;
  tapPromise?(options: TapArg, fn: never): void;
  intercept(interceptor: object): void;
  isUsed(): boolean;
};

/** What a plugin may do with one hook: tap it or intercept it, never call it. */
export type TapOnly<H> = Omit<H, 'call' | 'callAsync' | 'promise' | 'withOptions'>;

/** The hook table as plugins see it. */
export type PluginHooks = { readonly [K in keyof Hooks]: TapOnly<Hooks[K]> };

/**
 * Builds the tap-only view of `hooks` for the plugin `pluginName`. Every tap must carry the
 * plugin's own name, so logs and ordering (`before`) can rely on it.
 */
export function createPluginHooks(hooks: Hooks, pluginName: string): PluginHooks {
  const view: Record<string, unknown> = {};
  for (const [hookName, hook] of Object.entries(hooks)) {
    view[hookName] = Object.freeze(tapOnly(hook, hookName, pluginName));
  }
  // Each entry has its hook's own tap methods, which PluginHooks types hook by hook.
  return Object.freeze(view) as PluginHooks;
}

function tapOnly(hook: Tappable, hookName: string, pluginName: string) {
  const check = (options: TapArg): TapArg => {
    const name = typeof options === 'string' ? options : options?.name;
    if (name !== pluginName) {
      throw new ApflowError('APF_PLUGIN_LOAD_FAILED', {
        message: `plugin '${pluginName}' tapped hook '${hookName}' as '${String(name)}': taps must use the plugin's name`,
      });
    }
    return options;
  };
  const methods: Record<string, unknown> = {
    intercept: (interceptor: object) => hook.intercept(interceptor),
    isUsed: () => hook.isUsed(),
  };
  for (const method of ['tap', 'tapAsync', 'tapPromise'] as const) {
    const original = hook[method];
    // `fn` is whatever the hook's own tap takes (PluginHooks types it).
    if (original) methods[method] = (options: TapArg, fn: never) => original.call(hook, check(options), fn);
  }
  return methods;
}
