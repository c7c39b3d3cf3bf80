import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

// Engines alive in this process: a same-process owner not listed here is gone.
const live = new Set<string>();

/** A new, unique owner id for leases: `host/pid/random`. */
export function createOwnerId(): string {
  const owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  live.add(owner);
  return owner;
}

/** Forgets an owner of this process (its engine closed). */
export function retireOwner(owner: string): void {
  live.delete(owner);
}

/**
 * True when `owner` is known to be gone: an engine of this process that closed, or a process on
 * this host that no longer exists. Owners on other hosts are judged by their lease expiry only.
 */
export function isOwnerGone(owner: string | null): boolean {
  if (!owner) return true;
  const [host, pidText] = owner.split('/');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return !live.has(owner);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** True while a lease holds: held by an owner not known to be gone, and not expired at `now` (ms epoch). */
export function leaseHolds(
  lease: { lease_owner: string | null; lease_expires_at: string | null },
  now: number,
): boolean {
  return (
    lease.lease_owner !== null &&
    lease.lease_expires_at !== null &&
    Date.parse(lease.lease_expires_at) > now &&
    !isOwnerGone(lease.lease_owner)
  );
}

/** The oldest heartbeat (ISO) of a server still counted alive at `now` (ms epoch): two leases back. */
export function aliveSince(now: number, leaseS: number): string {
  return new Date(now - 2 * leaseS * 1000).toISOString();
}
