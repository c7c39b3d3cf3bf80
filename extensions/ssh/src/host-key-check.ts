import { createHash } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { ApflowError } from 'apflow';
import { entryNames, hostKeyAlgorithms, knownHostsName, parseKnownHosts, type KnownHost } from './known-hosts.ts';

/** One source of pins (the task's fingerprints, the task's known_hosts, the config's known_hosts). */
export interface HostKeySource {
  /** How refusals name it (`host_key_sha256`, `known_hosts`, `ssh.known_hosts`). */
  name: string;
  /** What the key is compared as: its SHA256 fingerprint, or its blob (base64). */
  kind: 'fingerprint' | 'key';
  /** Accepted values (base64, no padding); a source is only kept when it holds one. */
  accepted: string[];
}

/** What a run checks the server's host key against, worked out before it connects. */
export interface HostKeyPlan {
  /** Every source that pins keys: the key must be accepted by each of them. */
  sources: HostKeySource[];
  /** Keys revoked for this host (`@revoked` lines of any source), base64. */
  revoked: string[];
  /** Host key algorithms to offer (those of the known keys), or undefined for ssh2's list. */
  algorithms: ServerHostKeyAlgorithm[] | undefined;
}

/** The verdict on the key the server showed. */
export interface HostKeyVerdict {
  /** Its fingerprint as OpenSSH prints it (`SHA256:…`). */
  fingerprint: string;
  /** True when it matched what the task or the config pinned. */
  verified: boolean;
  /** Why it is refused, when it is. */
  refusal?: string;
}

/** The SHA256 fingerprint of a key blob as OpenSSH prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Gathers what the host key of `host:port` must match: the task's `host_key_sha256` and
 * `known_hosts`, and the config's `known_hosts` lines naming this host, each a source of its own
 * (a task cannot widen what the operator pinned). A task's known_hosts without a key for the host
 * is refused here, before any connection.
 */
export function planHostKey(
  given: { host_key_sha256?: string | string[]; known_hosts?: string | string[] },
  configKnownHosts: string,
  host: string,
  port: number,
): HostKeyPlan {
  const pinned = given.host_key_sha256 === undefined ? [] : [given.host_key_sha256].flat();
  const fingerprints = pinned.map((value) => value.replace(/^sha256:/i, '').replace(/=+$/, ''));
  const forHost = (text: string) => parseKnownHosts(text).filter((entry) => entryNames(entry.hosts, host, port));
  const taskEntries = given.known_hosts === undefined ? [] : forHost([given.known_hosts].flat().join('\n'));
  if (given.known_hosts !== undefined && !taskEntries.some((entry) => entry.marker === undefined)) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `ssh_executor: known_hosts has no key for ${knownHostsName(host, port)}; add the host's line (as \`ssh-keyscan -p ${port} ${host}\` prints it) or give host_key_sha256`,
    });
  }
  const configEntries = forHost(configKnownHosts);
  const keysOf = (entries: readonly KnownHost[], wanted: KnownHost['marker']) =>
    entries.filter((entry) => entry.marker === wanted).map((entry) => entry.key.replace(/=+$/, ''));
  const sources: HostKeySource[] = [
    { name: 'host_key_sha256', kind: 'fingerprint', accepted: fingerprints },
    { name: 'known_hosts', kind: 'key', accepted: keysOf(taskEntries, undefined) },
    { name: 'ssh.known_hosts', kind: 'key', accepted: keysOf(configEntries, undefined) },
  ];
  const entries = [...taskEntries, ...configEntries];
  return {
    sources: sources.filter((source) => source.accepted.length > 0),
    revoked: keysOf(entries, 'revoked'),
    algorithms: hostKeyAlgorithms(entries),
  };
}

/** Whether a plan pins anything (otherwise every key is accepted, unverified). */
export function pinsHostKey(plan: HostKeyPlan): boolean {
  return plan.sources.length > 0;
}

/** Judges the key blob the server showed against the plan: every source must accept it. */
export function judgeHostKey(plan: HostKeyPlan, blob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintOf(blob);
  const key = blob.toString('base64').replace(/=+$/, '');
  if (plan.revoked.includes(key))
    return { fingerprint, verified: false, refusal: `its host key ${fingerprint} is revoked` };
  for (const source of plan.sources) {
    const value = source.kind === 'fingerprint' ? fingerprint.slice('SHA256:'.length) : key;
    if (source.accepted.includes(value)) continue;
    const what =
      source.kind === 'fingerprint' ? `does not match ${source.name}` : `is not the one ${source.name} holds`;
    return {
      fingerprint,
      verified: false,
      refusal: `its host key ${fingerprint} ${what} (the key changed, or something is in between)`,
    };
  }
  return { fingerprint, verified: pinsHostKey(plan) };
}
