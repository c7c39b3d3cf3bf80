/**
 * Runs `shutdown` on the first SIGINT or SIGTERM and exits 0 when it is done (1 if it failed);
 * a second signal exits at once with code 1.
 */
export function onShutdownSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(1);
    stopping = true;
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`apflow: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
