/**
 * The plugin state (`RequestContext.state`) of the request that created or started each tree,
 * held in memory only, for as long as this process may run the tree: request-scoped secrets
 * such as an `X-LLM-API-KEY` header reach the tree's executors (through `keyResolve`) without
 * ever being stored. The oldest entries go first past `max` (trees created and never run).
 */
export function createRequestScopes(max = 10_000) {
  const scopes = new Map<string, Record<string, unknown>>();
  return {
    /**
     * Holds `state` for the tree; over a state held already (the request that created it), the
     * new one wins where both have a property, and the old one shows through elsewhere.
     */
    set(rootId: string, state: Record<string, unknown>): void {
      const held = scopes.get(rootId);
      scopes.delete(rootId);
      scopes.set(
        rootId,
        held && held !== state
          ? Object.defineProperties(
              Object.create(held) as Record<string, unknown>,
              Object.getOwnPropertyDescriptors(state),
            )
          : state,
      );
      if (scopes.size > max) scopes.delete(scopes.keys().next().value as string);
    },
    get: (rootId: string) => scopes.get(rootId),
    delete: (rootId: string) => void scopes.delete(rootId),
  };
}
