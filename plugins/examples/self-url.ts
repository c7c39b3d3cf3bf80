import type { ApflowConfig } from 'apflow';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * This server's own base URL (no trailing slash): `server.base_url`, else
 * `http://<host>:<port>` with 127.0.0.1 for a wildcard host; `port` is the port actually listened
 * on when known (it differs from `server.port` when that is 0).
 */
export function selfUrl(config: ApflowConfig, port?: number): string {
  if (config.server.base_url) return config.server.base_url.replace(/\/+$/, '');
  const host = WILDCARDS.has(config.server.host) ? '127.0.0.1' : config.server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port ?? config.server.port}`;
}
