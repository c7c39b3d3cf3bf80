import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on the first call, then kept: for packages only some servers use
 * (undici for outbound calls, yaml for a YAML config, pg for PostgreSQL, pino-pretty for readable
 * logs), so a start that does not use one never reads its files. Synchronous, unlike `import()`,
 * so it fits APIs that are (a getter, a logger's stream). The build leaves these packages to
 * Node's resolution (scripts/bundle-kernel.js).
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
