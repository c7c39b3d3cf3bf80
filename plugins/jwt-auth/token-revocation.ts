import { ApflowError, type Principal } from 'apflow';

/** The claim login tokens carry: the user's token version when the token was minted. */
export const TOKEN_VERSION_CLAIM = 'tv';

/** Where the current token versions come from (the users store). */
export interface TokenVersions {
  /** The stored user's token version, or null when there is no such user. */
  tokenVersion(username: string): Promise<string | null>;
}

/**
 * Refuses tokens of removed users and tokens minted before a password change: a token carrying
 * the `tv` claim is valid only while its `sub` is a stored user with that token version. Versions
 * are remembered for `recheckS` seconds (at most `maxEntries` users, least recently asked
 * forgotten first), so the database is asked at most once per user and period, whatever the
 * request rate; a change made by another process (`apflow users remove`) counts within that time.
 * Tokens without the claim (minted for names that are not stored users, or by an identity
 * provider) are not concerned.
 */
export function createRevocationCheck(versions: TokenVersions, options: { recheckS: number; maxEntries?: number }) {
  const ttlMs = options.recheckS * 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const known = new Map<string, { at: number; version: Promise<string | null> }>();

  const current = (username: string): Promise<string | null> => {
    const now = Date.now();
    const cached = known.get(username);
    if (cached && now - cached.at < ttlMs) return cached.version;
    const entry = { at: now, version: versions.tokenVersion(username) };
    known.delete(username);
    known.set(username, entry);
    if (known.size > maxEntries) {
      const oldest = known.keys().next();
      if (!oldest.done) known.delete(oldest.value);
    }
    // A failed lookup is not remembered: the next request asks again.
    entry.version.catch(() => known.get(username) === entry && known.delete(username));
    return entry.version;
  };

  return async function checkRevocation(principal: Principal): Promise<void> {
    const claimed = principal.claims?.[TOKEN_VERSION_CLAIM];
    if (claimed === undefined) return;
    let version: string | null;
    try {
      version = await current(principal.user_id);
    } catch {
      // Not a verdict on the token: the caller should retry, not log in again.
      throw new ApflowError('APF_UNAVAILABLE', {
        message: 'the token cannot be checked right now (the user store did not answer); try again',
      });
    }
    if (version !== claimed) {
      throw new ApflowError('APF_UNAUTHENTICATED', {
        message: 'Invalid token: the token has been revoked (log in again)',
      });
    }
  };
}
