import { ApflowError } from '../errors/apflow-error.ts';
import type { Hooks } from './hooks.ts';

type TapArg = string | { name: string; stage?: number; before?: string };
type Tappable = {
  tap(options: TapArg, fn: never): void;
  intercept(interceptor: object): void;
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
  for (const [hookName, hook] of Object.entries(hooks) as [string, Tappable][]) {
    view[hookName] = Object.freeze(tapOnly(hook, hookName, pluginName));
  }
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
    isUsed: () => (hook as unknown as { isUsed(): boolean }).isUsed(),
  };
  for (const method of ['tap', 'tapAsync', 'tapPromise'] as const) {
    const original = (hook as unknown as Record<string, ((o: TapArg, fn: unknown) => void) | undefined>)[method];
    if (original) methods[method] = (options: TapArg, fn: unknown) => original.call(hook, check(options), fn);
  }
  return methods;
}
