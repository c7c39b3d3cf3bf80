import type { Suspension } from './durable-context.ts';

/** What {@link RunEnding.first} resolves with when the executor returned (its value is in `value`). */
export const RETURNED: unique symbol = Symbol('returned');

/**
 * How one run of a task ends, and the one abort it has: the engine loses the task (cancelled,
 * taken over, handed back), the run times out, or a durable call suspends it. Its AbortSignal is
 * made on first read: most executors never look at `ctx.signal`, and an AbortController with its
 * listeners per task is a large part of a quick task's cost. A class, not a closure: one object
 * per run, its methods shared.
 */
export class RunEnding {
  /** The engine lost the task: how the run ends is not written (someone else decided). */
  lost = false;
  /** The run's signal aborted (lost while it ran, timed out, suspended); `reason` says why. */
  aborted = false;
  reason: unknown = undefined;
  timedOut = false;
  /** The executor's value, once {@link first} resolved with {@link RETURNED}. */
  value: unknown = undefined;
  #running = false;
  #controller: AbortController | undefined = undefined;
  #resolve: ((first: typeof RETURNED | Suspension) => void) | undefined = undefined;
  #reject: ((reason: unknown) => void) | undefined = undefined;

  /**
   * The engine lost the task. A run going on is aborted with `reason`; one not started yet never
   * starts, and one that is over keeps its signal as it was.
   */
  lose(reason: unknown): void {
    if (this.lost) return;
    this.lost = true;
    if (this.#running) this.abort(reason);
  }

  /** The run starts; false when the task was lost before (nothing to run). */
  start(): boolean {
    if (this.lost) return false;
    this.#running = true;
    return true;
  }

  /** The run is over: losing the task afterwards no longer aborts its signal. */
  stop(): void {
    this.#running = false;
    this.#resolve = undefined;
    this.#reject = undefined;
  }

  /** Aborts the run's signal (once) and ends {@link first} with `reason`, when it has not ended yet. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    // As AbortController.abort() does without a reason.
    this.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#reject?.(this.reason);
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#controller?.abort(this.reason);
  }

  /** The run took longer than its timeout. */
  timeOut(): void {
    this.timedOut = true;
    this.abort(new Error('timeout'));
  }

  /** The signal the executor sees (`ctx.signal`): made on first read, aborted already when the run is. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /**
   * The first of: the executor's value ({@link RETURNED}, see {@link follow}), a suspension
   * ({@link suspend}: resolves with it), the executor's failure (rejects with it), an abort (rejects
   * with the abort's reason). What comes after the first is ignored. Asked for before the
   * executor starts.
   */
  first(): Promise<typeof RETURNED | Suspension> {
    if (this.aborted) return Promise.reject(this.reason);
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Follows what the executor returned (a value or a promise of one) to {@link first}. */
  follow(work: unknown): void {
    void Promise.resolve(work).then(
      (value) => this.#returned(value),
      (error: unknown) => this.#fail(error),
    );
  }

  /** A durable call suspended the run. */
  suspend(suspension: Suspension): void {
    const resolve = this.#resolve;
    this.#resolve = this.#reject = undefined;
    resolve?.(suspension);
  }

  #returned(value: unknown): void {
    const resolve = this.#resolve;
    if (!resolve) return;
    this.value = value;
    this.#resolve = this.#reject = undefined;
    resolve(RETURNED);
  }

  #fail(error: unknown): void {
    const reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    reject?.(error);
  }
}
