import type { UserConfig } from './config-schema.ts';

/**
 * Types an `apflow.config.ts`. Returns its argument unchanged.
 *
 * @example
 * export default defineConfig({ server: { port: 8080 }, database: { url: 'sqlite:./.data/app.sqlite' } });
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
