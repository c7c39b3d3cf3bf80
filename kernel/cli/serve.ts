import cluster from 'node:cluster';
import { createApp } from '../app/create-app.ts';
import { resolveConfig, type CliOverrides } from '../config/resolve-config.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import type { ServeOptions } from './cli.ts';
import { fail } from './cli.ts';
import { runPrimary, runWorker } from './cluster.ts';
import { onShutdownSignal } from './signals.ts';

/** `apflow serve`: one process, or a primary with `--workers N` processes sharing the port. */
export async function serve(options: ServeOptions): Promise<void> {
  const cli = serveOverrides(options);
  if (cluster.isWorker) return runWorker(cli);
  const loaded = await resolveConfig({ cli });
  if (loaded.config.server.workers > 1) {
    if (loaded.config.reload) fail('--reload cannot be combined with more than one worker');
    if (loaded.config.database.url === 'sqlite::memory:') {
      fail('sqlite::memory: cannot be shared by several workers: use a database file or PostgreSQL');
    }
    return runPrimary(loaded);
  }
  const app = await createApp({ loaded });
  onShutdownSignal(() => app.close());
  await app.listen();
}

/** Turns the command-line flags into config overrides, rejecting malformed numbers by flag. */
export function serveOverrides(options: ServeOptions): CliOverrides {
  if (options.protocol !== undefined && !['a2a', 'mcp'].includes(String(options.protocol))) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `--protocol must be a2a or mcp (apflow serves both at once), got '${String(options.protocol)}'`,
    });
  }
  return {
    config: options.config,
    host: options.host === undefined ? undefined : String(options.host),
    port: integerFlag('--port', options.port),
    workers: integerFlag('--workers', options.workers),
    reload: options.reload === true,
  };
}

function integerFlag(flag: string, value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d+$/.test(text)) {
    throw new ApflowError('APF_CONFIG_INVALID', { message: `${flag} must be a whole number, got '${text}'` });
  }
  return Number(text);
}
