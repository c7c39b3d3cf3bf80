import { isIP } from 'node:net';

/**
 * Where the server may connect for a task or a client (config `outbound`, and the
 * `webhooks.*` / `a2a.push.*` aliases merged into it).
 */
export interface OutboundRules {
  /** Allow loopback, private, link-local and every other non-public address. */
  allow_private: boolean;
  /**
   * Always allowed: a host name matches the URL's host (whatever it resolves to); an IP address
   * matches that address however the URL names it.
   */
  allow_hosts: readonly string[];
  /** Never allowed (names and IPs, matched as in `allow_hosts`); wins over every allowance. */
  deny_hosts: readonly string[];
}

/** No allowance at all: only public addresses. */
export const strictRules: OutboundRules = { allow_private: false, allow_hosts: [], deny_hosts: [] };

/** `base` with `extra` added: either's allow_private, both lists. */
export function mergeRules(base: OutboundRules, extra: Partial<OutboundRules> = {}): OutboundRules {
  return {
    allow_private: base.allow_private || extra.allow_private === true,
    allow_hosts: [...new Set([...base.allow_hosts, ...(extra.allow_hosts ?? [])].map(normalizeHost))],
    deny_hosts: [...new Set([...base.deny_hosts, ...(extra.deny_hosts ?? [])].map(normalizeHost))],
  };
}

/**
 * One spelling per host, as URLs spell it: lower case, no brackets, no trailing dot; IPv4 in
 * dotted decimal (`127.1`, `2130706433` and `0177.0.0.1` are all `127.0.0.1`), IPv6 compressed.
 */
export function normalizeHost(host: string): string {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  const bracketed = isIP(bare.replace(/%.*$/, '')) === 6 ? `[${bare.replace(/%.*$/, '')}]` : bare;
  let hostname: string;
  try {
    hostname = new URL(`http://${bracketed}/`).hostname;
  } catch {
    hostname = bare.toLowerCase();
  }
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}
