import { isIP } from 'node:net';

/** Whether `address` (as `server.address()` gives it) only accepts connections from this machine. */
export function isLoopback(address: string): boolean {
  const plain = address
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  if (plain === '::1') return true;
  const v4 = plain.startsWith('::ffff:') ? plain.slice('::ffff:'.length) : plain;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The warning to log when a server without authentication listens where other machines can
 * reach it (`0.0.0.0`, `::`, a LAN address), or `undefined` when there is nothing to warn about.
 */
export function openServerWarning(address: string, port: number, authenticated: boolean): string | undefined {
  if (authenticated || isLoopback(address)) return undefined;
  const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return (
    `apflow listens on ${where} with authentication off: anyone who can reach this port can create and run tasks ` +
    `and read every result. Set auth.enabled with auth.jwt_secret (env APFLOW_JWT_SECRET), or listen on 127.0.0.1 ` +
    `(server.host, --host 127.0.0.1)`
  );
}
