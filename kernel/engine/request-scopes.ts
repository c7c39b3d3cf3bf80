/**
 * The plugin state (`RequestContext.state`) of the request that created or started each tree,
 * held in memory only, for as long as this process may run the tree: request-scoped secrets
 * such as an `X-LLM-API-KEY` header reach the tree's executors (through `keyResolve`) without
 * ever being stored. The oldest entries go first past `max` (trees created and never run).
 */
export function createRequestScopes(max = 10_000) {
  const scopes = new Map<string, Record<string, unknown>>();
  return {
    set(rootId: string, state: Record<string, unknown>): void {
      scopes.delete(rootId);
      scopes.set(rootId, state);
      if (scopes.size > max) scopes.delete(scopes.keys().next().value as string);
    },
    get: (rootId: string) => scopes.get(rootId),
    delete: (rootId: string) => void scopes.delete(rootId),
  };
}
