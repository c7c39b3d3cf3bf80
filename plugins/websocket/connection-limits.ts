/** Open WebSocket connections per client address, with a cap. */
export interface ConnectionsPerAddress {
  /**
   * Takes a slot for `address`; false when it already has `max`. The slot is held until
   * `release` runs (the socket closed, upgraded or not).
   */
  take(address: string): boolean;
  release(address: string): void;
  /** Slots held now for `address`. */
  count(address: string): number;
}

/**
 * Counts connections per address. Slots are taken when the upgrade request arrives, not when
 * the WebSocket opens, so a burst of simultaneous upgrades cannot slip past the cap.
 */
export function createConnectionsPerAddress(max: number): ConnectionsPerAddress {
  const open = new Map<string, number>();
  return {
    take(address) {
      const n = open.get(address) ?? 0;
      if (n >= max) return false;
      open.set(address, n + 1);
      return true;
    },
    release(address) {
      const n = (open.get(address) ?? 0) - 1;
      // Deleted at zero: the map holds only addresses with open connections.
      if (n <= 0) open.delete(address);
      else open.set(address, n);
    },
    count: (address) => open.get(address) ?? 0,
  };
}
