import { destination } from 'pino';
import { createApp, type App } from '../app/create-app.ts';
import { resolveConfig } from '../config/resolve-config.ts';

/**
 * An app for a one-shot command: the configured database, plugins and executors, logging
 * warnings to stderr (stdout is the command's answer), not listening, and not resuming other
 * servers' trees. `withoutAuth`: without the jwt-auth plugin, for calls made in this process.
 */
export async function openForCommand(options: { config?: string; withoutAuth?: boolean }): Promise<App> {
  const loaded = await resolveConfig({ cli: { config: options.config } });
  // Only a level set in the environment wins over the quiet default of one-shot commands; the
  // configuration holds it, checked.
  const level = process.env.APFLOW_LOG_LEVEL || process.env.LOG_LEVEL ? loaded.config.log.level : 'warn';
  // The command line's own calls (answered in this process) need no token: it holds the database.
  // (auth.jwt_secret stays: the secrets key may be derived from it.)
  const unguarded = options.withoutAuth
    ? {
        auth: { ...loaded.config.auth, enabled: false },
        disabled_plugins: [...loaded.config.disabled_plugins, 'jwt-auth'],
      }
    : {};
  return createApp({
    loaded: {
      ...loaded,
      config: Object.freeze({ ...loaded.config, log: { ...loaded.config.log, level }, ...unguarded }),
    },
    logStream: destination(2),
    resume: false,
  });
}
