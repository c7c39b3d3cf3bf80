import { createHmac } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';

/** One line of a known_hosts text that names a key. */
export interface KnownHost {
  /** `revoked`: this key must be refused; `cert-authority` lines are kept but never match (not supported). */
  marker: 'revoked' | 'cert-authority' | undefined;
  /** The host field as written (comma-separated patterns, or one `|1|salt|hash`). */
  hosts: string;
  /** The key's algorithm name (`ssh-ed25519`, `ssh-rsa`, …). */
  keyType: string;
  /** The key blob, base64 as written. */
  key: string;
}

/**
 * Parses known_hosts text as OpenSSH writes it: `[marker] hosts keytype base64 [comment]` per
 * line; blank lines, comments and lines it cannot read are skipped.
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const entries: KnownHost[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHost['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) continue;
    entries.push({ marker, hosts, keyType, key });
  }
  return entries;
}

/** The name known_hosts files hold for `host` on `port` (`host`, or `[host]:port` off port 22). */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Whether the host field of an entry names `host` on `port` (hashed names, wildcards and `!` negations). */
export function entryNames(hosts: string, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (hosts.startsWith('|1|')) return hashedNameMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `HashKnownHosts yes` writes. */
function hashedNameMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const expected = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return expected === hash;
}

/** OpenSSH host patterns: `*` any run of characters, `?` exactly one. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** The host key algorithms ssh2 can negotiate, for each key type a known_hosts line may name. */
const ALGORITHMS: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

/**
 * The host key algorithms to offer when `entries` pin keys of these types, so the server shows
 * a key of a known type (as OpenSSH does); undefined to keep ssh2's default list.
 */
export function hostKeyAlgorithms(entries: readonly KnownHost[]): ServerHostKeyAlgorithm[] | undefined {
  const algorithms = new Set<ServerHostKeyAlgorithm>();
  for (const entry of entries) {
    if (entry.marker !== undefined || !Object.hasOwn(ALGORITHMS, entry.keyType)) continue;
    for (const name of ALGORITHMS[entry.keyType] ?? []) algorithms.add(name);
  }
  return algorithms.size ? [...algorithms] : undefined;
}
