/** Something that gives back a resource. */
export type Disposer = () => void | Promise<void>;

/**
 * A stack of disposers run last-in first-out, so resources are released in the reverse order
 * of acquisition. Every disposer runs even when one fails; the first error is rethrown.
 */
export function createReleasers() {
  const stack: Disposer[] = [];
  return {
    /** Adds a disposer to run at release time. */
    add(disposer: Disposer): void {
      stack.push(disposer);
    },
    /** Runs every disposer, newest first, and empties the stack. */
    async release(): Promise<void> {
      let firstError: unknown;
      while (stack.length > 0) {
        const disposer = stack.pop() as Disposer;
        try {
          await disposer();
        } catch (error) {
          firstError ??= error;
        }
      }
      if (firstError !== undefined) throw firstError;
    },
  };
}

/** A LIFO disposer stack. */
export type Releasers = ReturnType<typeof createReleasers>;
