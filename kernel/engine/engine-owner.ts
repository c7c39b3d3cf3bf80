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
