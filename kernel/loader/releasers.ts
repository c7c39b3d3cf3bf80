/** Something that gives back a resource. */
export type Disposer = () => void | Promise<void>;

/**
 * A stack of disposers run last-in first-out, so resources are released in the reverse order
 * of acquisition. Every disposer runs even when one fails: each failure goes to `onError` when
 * given (release then never rejects), else the first one is rethrown once all have run.
 */
export function createReleasers(options: { onError?: (error: unknown) => void } = {}) {
  const stack: Disposer[] = [];
  return {
    /** Adds a disposer to run at release time. */
    add(disposer: Disposer): void {
      stack.push(disposer);
    },
    /** Runs every disposer, newest first, and empties the stack. */
    async release(): Promise<void> {
      let firstError: unknown;
      for (let disposer = stack.pop(); disposer; disposer = stack.pop()) {
        try {
          await disposer();
        } catch (error) {
          if (options.onError) options.onError(error);
          else firstError ??= error;
        }
      }
      if (firstError !== undefined) throw firstError;
    },
  };
}

/** A LIFO disposer stack. */
export type Releasers = ReturnType<typeof createReleasers>;
