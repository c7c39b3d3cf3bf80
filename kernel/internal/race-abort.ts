const ONCE = { once: true } as const;
const ignore = () => undefined;

/**
 * Settles with `work`, or rejects with the abort reason as soon as `signal` aborts (for work that
 * ignores signals: an executor, a transport's start). The work itself is left behind, not stopped.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Left behind, its own failure is nobody's to hear: it must not be an unhandled rejection.
    work.catch(ignore);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    // A listener object: under keepNames (tsx) a named function made per call is renamed per call.
    const race = new AbortRace(signal, reject);
    signal.addEventListener('abort', race, ONCE);
    work.then(
      (value) => {
        signal.removeEventListener('abort', race);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', race);
        reject(error);
      },
    );
  });
}

/** The abort listener of one race: rejects it with the signal's reason. */
class AbortRace {
  constructor(
    private readonly signal: AbortSignal,
    private readonly reject: (reason: unknown) => void,
  ) {}

  handleEvent(): void {
    this.reject(this.signal.reason);
  }
}
