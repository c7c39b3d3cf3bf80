import { errorMessage } from '../internal/error-message.ts';

/**
 * Runs `shutdown` on the first SIGINT or SIGTERM, or on a call of the returned function, and
 * exits 0 when it is done (1 if it failed); a second signal exits at once with code 1.
 */
export function onShutdownSignal(shutdown: () => Promise<void>): () => void {
  let stopping = false;
  let signalled = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`apflow: shutdown failed: ${errorMessage(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Only a repeated signal means "stop now": a call of `stop` (a cluster worker told to stop by
  // its primary) may race the same signal sent to the whole process group (Ctrl-C, systemd).
  const handler = () => {
    if (signalled) process.exit(1);
    signalled = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return stop;
}
