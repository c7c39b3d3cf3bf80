import { isApflowError, type Principal } from 'apflow';
import type { WebSocket } from 'ws';

/** Close code for a connection closed by policy: no authentication in time, or its token expired. */
export const POLICY_CLOSE = 1008;
export const AUTH_TIMEOUT_REASON = 'authentication timeout: send {"action": "auth", "token": "<JWT>"} first';
export const TOKEN_EXPIRED_REASON = 'token expired: reconnect with a fresh token';
export const CREDENTIALS_REFUSED_REASON =
  'token no longer accepted (revoked or user removed): reconnect with a fresh token';

/** setTimeout's longest delay (about 24.8 days); longer waits are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** How long a client gets to answer a policy close before its socket is dropped. */
const CLOSE_GRACE_MS = 2000;

/**
 * The deadlines of a connection: authenticate in time, stop when the token expires, and stop
 * when its credentials are no longer accepted (checked again every so often).
 */
export interface SessionTimers {
  /** The connection's token is now the one that gave `principal` (on the upgrade or in an `auth` message). */
  authenticated(principal: Principal | undefined): void;
  /** Clears both timers (the socket closed). */
  stop(): void;
}

/** The expiry of `principal`'s token in ms since the epoch (the JWT `exp` claim), if it has one. */
function expiresAt(principal: Principal | undefined): number | undefined {
  const exp = principal?.claims?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/** How a connection's credentials are checked again (authentication on). */
export interface Recheck {
  everyMs: number;
  /** Runs the auth hook with the connection's current credentials; rejects when they are refused. */
  check(): Promise<unknown>;
}

/**
 * Arms the deadlines of one connection. With `authTimeoutMs` (authentication on) a connection
 * that has not authenticated by then is closed; a connection whose token carries an `exp` is
 * closed at that moment, unless an `auth` message brought another token first (then that
 * token's `exp` counts). With `recheck`, an authenticated connection's credentials are checked
 * again every `everyMs`: a revoked token (its user removed, a new password) ends subscriptions
 * too, not only the next message. A check that fails for another reason (the database away)
 * leaves the connection open.
 */
export function createSessionTimers(
  socket: WebSocket,
  authTimeoutMs: number | undefined,
  recheck?: Recheck,
): SessionTimers {
  let authTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;
  if (authTimeoutMs !== undefined)
    authTimer = setTimeout(() => closeForPolicy(socket, AUTH_TIMEOUT_REASON), authTimeoutMs);
  const checkAgain = () =>
    recheck?.check().catch((error: unknown) => {
      if (isApflowError(error) && error.code === 'APF_UNAUTHENTICATED')
        closeForPolicy(socket, CREDENTIALS_REFUSED_REASON);
    });

  const armExpiry = (at: number) => {
    const wait = at - Date.now();
    expiryTimer =
      wait > MAX_DELAY_MS
        ? setTimeout(() => armExpiry(at), MAX_DELAY_MS)
        : setTimeout(() => closeForPolicy(socket, TOKEN_EXPIRED_REASON), Math.max(0, wait));
  };

  return {
    authenticated(principal) {
      if (!principal) return;
      clearTimeout(authTimer);
      clearTimeout(expiryTimer);
      expiryTimer = undefined;
      const at = expiresAt(principal);
      if (at !== undefined) armExpiry(at);
      if (recheck && !recheckTimer) recheckTimer = setInterval(checkAgain, recheck.everyMs);
    },
    stop() {
      clearTimeout(authTimer);
      clearTimeout(expiryTimer);
      clearInterval(recheckTimer);
    },
  };
}

/** Closes with code 1008 and `reason`; a client that does not answer the close is dropped. */
export function closeForPolicy(socket: WebSocket, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(POLICY_CLOSE, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}
