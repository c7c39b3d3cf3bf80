/**
 * Settles with `work`, or rejects with the abort reason as soon as `signal` aborts (for work that
 * ignores signals: an executor, a transport's start). The work itself is left behind, not stopped.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Left behind, its own failure is nobody's to hear: it must not be an unhandled rejection.
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
