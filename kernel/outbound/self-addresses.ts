import { networkInterfaces } from 'node:os';
import { normalizeHost } from './outbound-rules.ts';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * Where this server itself can be reached (host and port pairs): a task may call the server's
 * own API (the REST example calls its `/health`) without opening every port of loopback.
 */
export interface SelfAddresses {
  /** True when `host` (a name or an address, normalized) on `port` is this server. */
  has(host: string, port: number): boolean;
  /**
   * Adds the address the server listens on: that address, or every interface's address for a
   * wildcard (0.0.0.0, ::), plus 127.0.0.1 and ::1 (what `localhost` resolves to), on `port`.
   */
  listening(host: string, port: number): void;
  /** Adds the host and port of a URL the server is known by (`server.base_url`). */
  knownAs(url: string): void;
}

/** Builds an empty set of this server's addresses. */
export function createSelfAddresses(): SelfAddresses {
  const entries = new Set<string>();
  const add = (host: string, port: number) => entries.add(`${normalizeHost(host)}|${port}`);
  return {
    has: (host, port) => entries.has(`${host}|${port}`),
    listening(host, port) {
      const bound = normalizeHost(host);
      if (WILDCARDS.has(bound)) {
        for (const nic of Object.values(networkInterfaces())) for (const entry of nic ?? []) add(entry.address, port);
      } else {
        add(bound, port);
      }
      add('127.0.0.1', port);
      add('::1', port);
    },
    knownAs(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return;
      }
      add(parsed.hostname, Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80));
    },
  };
}
