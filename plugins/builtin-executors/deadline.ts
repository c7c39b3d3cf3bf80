/** A task input's time limit: aborts `signal` after that many seconds, until `clear`ed. */
export interface Deadline {
  /** Aborted when the time is up. */
  readonly signal: AbortSignal;
  /** True once the time is up. */
  readonly passed: boolean;
  /** Stops the timer (call it when the work is done: a long limit must not hold memory for a day). */
  clear(): void;
}

/**
 * Starts a time limit of `seconds` (at most 86,400: inputs cap it, since a longer setTimeout
 * would overflow and fire at once).
 */
export function deadline(seconds: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${seconds}s`)), seconds * 1000);
  return {
    signal: controller.signal,
    get passed() {
      return controller.signal.aborted;
    },
    clear: () => clearTimeout(timer),
  };
}

/** The largest `timeout` input, in seconds (one day). */
export const MAX_TIMEOUT_S = 86_400;
