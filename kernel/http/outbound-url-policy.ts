import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Where the server may send requests for a client (webhooks, push notifications). */
export interface OutboundPolicy {
  allow_private: boolean;
  allow_hosts: string[];
  deny_hosts: string[];
}

// Addresses a server should not be made to call for a stranger: loopback, private, link-local,
// carrier-grade NAT, benchmarking, multicast and reserved ranges (SSRF).
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) nonPublic.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) nonPublic.addSubnet(network, prefix, 'ipv6');

function isNonPublic(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return nonPublic.check(mapped, 'ipv4');
  return nonPublic.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Why the server may not call `url` for a client (SSRF), or null when it may: it must be http(s)
 * without credentials in it, not denied, and (unless allowed by name or `allow_private`)
 * resolve only to public addresses.
 */
export async function refuseOutboundUrl(url: string, policy: OutboundPolicy): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must use http or https';
  if (parsed.username || parsed.password) return 'must not carry credentials (use authentication or token)';
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (policy.deny_hosts.some((denied) => denied.toLowerCase() === host)) return `is on a denied host (${host})`;
  if (policy.allow_hosts.some((allowed) => allowed.toLowerCase() === host) || policy.allow_private) return null;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch {
    return `has a host that does not resolve (${host})`;
  }
  const inner = addresses.find(isNonPublic);
  if (inner) return `resolves to ${inner}, which is not a public address (allow its host with allow_hosts, or allow_private)`;
  return null;
}
