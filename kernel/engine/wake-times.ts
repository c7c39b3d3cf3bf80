/**
 * Moments (ms epoch, to 10 ms) at which the work loop must look again: retries' backoffs end
 * then. Every moment asked for is kept; one timer waits for the soonest, and `kick` is called
 * when it passes.
 */
export function createWakeTimes(kick: () => void) {
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  let moments: number[] = [];

  /** Sets the timer for the soonest moment kept, unless it is set for that one already. */
  const arm = () => {
    const next = moments[0];
    if (next === undefined || next === armedFor) return;
    clearTimeout(timer);
    armedFor = next;
    timer = setTimeout(
      () => {
        armedFor = Infinity;
        const now = Date.now();
        moments = moments.filter((moment) => moment > now);
        kick();
        arm();
      },
      Math.max(0, next - Date.now()),
    );
    timer.unref();
  };

  return {
    /** Kicks the loop at `at` (ms epoch). */
    add(at: number): void {
      const moment = Math.ceil(at / 10) * 10;
      let i = moments.length;
      while (i > 0 && (moments[i - 1] as number) > moment) i--;
      if (moments[i - 1] !== moment) moments.splice(i, 0, moment);
      arm();
    },
    /** Forgets every moment (the loop is closing). */
    clear(): void {
      clearTimeout(timer);
      moments = [];
    },
  };
}
