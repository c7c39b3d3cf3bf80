import { destination } from 'pino';
import { createApp, type App } from '../app/create-app.ts';
import { resolveConfig } from '../config/resolve-config.ts';

/**
 * An app for a one-shot command: the configured database, plugins and executors, logging
 * warnings to stderr (stdout is the command's answer), not listening, and not resuming other
 * servers' trees.
 */
export async function openForCommand(options: { config?: string }): Promise<App> {
  const loaded = await resolveConfig({ cli: { config: options.config } });
  // Only a level set in the environment wins over the quiet default of one-shot commands; the
  // configuration holds it, checked.
  const level = process.env.APFLOW_LOG_LEVEL || process.env.LOG_LEVEL ? loaded.config.log.level : 'warn';
  return createApp({
    loaded: { ...loaded, config: Object.freeze({ ...loaded.config, log: { ...loaded.config.log, level } }) },
    logStream: destination(2),
    resume: false,
  });
}
