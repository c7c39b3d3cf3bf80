import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createApp, type App } from '../app/create-app.ts';
import { resolveConfig, type CliOverrides, type LoadedConfig } from '../config/resolve-config.ts';
import { isApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { createLogger } from '../internal/logger.ts';
import { SESSION_KEY_ENV } from '../secrets/secrets-key.ts';
import { createStorage, durabilityOf } from '../storage/create-storage.ts';
import { fail } from './cli.ts';
import { onShutdownSignal } from './signals.ts';

/** Messages a worker sends its primary. */
type WorkerMessage =
  | { type: 'ready'; url: string }
  | { type: 'fatal'; message: string }
  | GatherRequest
  | GatherAnswer
  | EngineSignalMessage;

/** Messages the primary sends its workers. */
type PrimaryMessage = { type: 'stop' };

/**
 * Cluster gather (used by the `metrics` plugin; open to any plugin, no kernel API needed): a
 * worker sends `{type: 'apflow:gather', id, topic}`; the primary asks every live worker
 * `{type: 'apflow:gather:ask', id, topic}`, each answers `{type: 'apflow:gather:answer', id,
 * value}`, and the requester gets `{type: 'apflow:gather:result', id, values}` once all answered
 * or after `timeout_ms` (default 2000, at most 10000) with the answers that came. Workers without
 * a listener for the topic simply do not answer. The primary never looks inside the values.
 */
type GatherRequest = { type: 'apflow:gather'; id: string; topic: string; timeout_ms?: number };
type GatherAnswer = { type: 'apflow:gather:answer'; id: string; value: unknown };

/**
 * An engine signal (kernel/engine/signal-bus.ts) from a worker on SQLite, where there is no
 * LISTEN/NOTIFY: the primary passes it to every other worker, untouched.
 */
type EngineSignalMessage = { type: 'apflow:signal'; signal: unknown };

/**
 * The cluster primary: runs the migrations once, forks the workers (they share the port
 * through node:cluster), relays engine signals between them on SQLite, replaces a worker that dies, and on SIGINT/SIGTERM stops them all.
 * If a worker cannot start (port taken, bad plugin…) the whole server stops with its error.
 */
export async function runPrimary(loaded: LoadedConfig): Promise<void> {
  const { config } = loaded;
  const log = createLogger({ level: config.log.level });
  const storage = await createStorage({
    url: config.database.url,
    log,
    durability: durabilityOf(config.database),
    preparedStatements: config.database.postgres.prepared_statements,
  });
  try {
    await storage.migrate();
  } finally {
    await storage.close();
  }

  const gather = createGatherRelay();
  // Without a lasting key, secret inputs are sealed under this run's key, which every worker shares.
  const sessionKey = { [SESSION_KEY_ENV]: randomBytes(32).toString('base64url') };
  const count = config.server.workers;
  let ready = 0;
  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork(sessionKey);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'apflow:signal') {
        for (const other of Object.values(cluster.workers ?? {}))
          if (other && other !== worker && other.isConnected()) other.send(message);
        return;
      }
      if (message.type === 'apflow:gather') return gather.request(worker, message);
      if (message.type === 'apflow:gather:answer') return gather.answer(message);
      if (message.type === 'fatal' && ready < count) {
        stopping = true;
        for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
        fail(message.message);
      }
      if (message.type === 'ready' && ++ready === count) {
        log.info({ url: message.url, workers: count }, 'apflow listening');
      }
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      log.warn({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
      fork();
    });
    return worker;
  };
  for (let i = 0; i < count; i++) fork();

  onShutdownSignal(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    const exited = workers.map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    // A message, not a signal: the workers may have had the same signal already (sent to the
    // whole process group), and a second signal would make them drop their requests.
    const stop: PrimaryMessage = { type: 'stop' };
    for (const worker of workers) worker.send(stop, (error) => error && worker.process.kill('SIGTERM'));
    const deadline = setTimeout(
      () => workers.forEach((worker) => worker.process.kill('SIGKILL')),
      (config.server.shutdown_timeout_s + 5) * 1000,
    );
    await Promise.all(exited);
    clearTimeout(deadline);
    log.info('apflow stopped');
  });
}

/** The primary's side of the cluster gather (see {@link GatherRequest}). */
function createGatherRelay() {
  type Pending = { values: unknown[]; waiting: number; finish: () => void };
  const pending = new Map<string, Pending>();
  let counter = 0;
  return {
    request(requester: Worker, message: GatherRequest): void {
      const id = `${++counter}`;
      const workers = Object.values(cluster.workers ?? {}).filter(
        (worker): worker is Worker => worker?.isConnected() === true,
      );
      const entry: Pending = {
        values: [],
        waiting: workers.length,
        finish: () => {
          if (!pending.has(id)) return;
          clearTimeout(timer);
          pending.delete(id);
          if (requester.isConnected())
            requester.send({ type: 'apflow:gather:result', id: message.id, values: entry.values });
        },
      };
      const timer = setTimeout(entry.finish, Math.min(Math.max(Number(message.timeout_ms) || 2000, 1), 10_000));
      pending.set(id, entry);
      for (const worker of workers) {
        worker.send({ type: 'apflow:gather:ask', id, topic: message.topic }, (error) => {
          if (error && --entry.waiting <= 0) entry.finish();
        });
      }
      if (workers.length === 0) entry.finish();
    },
    answer(message: GatherAnswer): void {
      const entry = pending.get(message.id);
      if (!entry) return;
      entry.values.push(message.value);
      if (--entry.waiting <= 0) entry.finish();
    },
  };
}

/** A cluster worker: one full app, listening on the shared port; reports to the primary. */
export async function runWorker(cli: CliOverrides): Promise<void> {
  const send = (message: WorkerMessage) => process.send?.(message);
  let app: App | undefined;
  const stop = onShutdownSignal(async () => app?.close());
  process.on('message', (message: PrimaryMessage) => {
    if (message.type === 'stop') stop();
  });
  // The primary is gone (or this worker gave up): nobody routes connections here any more.
  process.once('disconnect', stop);
  // The primary may exit while a message of this worker is on its way (another worker could not
  // start, and the primary stopped the server): the channel breaks under it (EPIPE), which would
  // end this worker with a stack trace under the primary's one-line error. Nothing is left to tell.
  cluster.worker?.on('error', stop);
  try {
    const loaded = await resolveConfig({ cli });
    app = await createApp({ loaded, migrate: false });
    const { url } = await app.listen();
    send({ type: 'ready', url });
  } catch (error) {
    const message = isApflowError(error) ? `${error.message} (${error.code})` : errorMessage(error);
    send({ type: 'fatal', message });
    process.exitCode = 1;
    process.disconnect?.();
  }
}
