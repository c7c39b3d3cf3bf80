/**
 * `load` run at the first call only (a package or module loaded on first use): later calls, concurrent ones included, share its promise.
 * A load that failed is forgotten, so the next call tries again.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
