import { ApflowError, type ApflowConfig } from 'apflow';
import { TOKEN_VERSION_CLAIM } from './token-revocation.ts';

/**
 * A token for `sub` with `roles`, signed with the configured secret, valid for `expiresS` seconds;
 * `tokenVersion` (a stored user's) binds it to that user: it is refused once the user is removed
 * or given a new password.
 */
export async function mintToken(
  auth: ApflowConfig['auth'],
  sub: string,
  roles: string[],
  expiresS: number,
  tokenVersion?: string,
): Promise<string> {
  if (!auth.jwt_secret) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message:
        'minting tokens needs auth.jwt_secret (env APFLOW_JWT_SECRET); with only auth.jwks_url, tokens come from the identity provider',
    });
  }
  // jose loads with the first token minted (a login, `apflow auth token`), not at start.
  const { SignJWT } = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    ...(roles.length ? { roles } : {}),
    ...(tokenVersion === undefined ? {} : { [TOKEN_VERSION_CLAIM]: tokenVersion }),
  };
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: auth.jwt_algorithm ?? 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresS);
  if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience) jwt = jwt.setAudience(auth.audience);
  return jwt.sign(new TextEncoder().encode(auth.jwt_secret));
}

/** `30d`, `12h`, `15m`, `90s` or a number of seconds, as seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `'${text}' is not a duration (use 30d, 12h, 15m, 90s or seconds)`,
    });
  const unit = match[2] === 'd' ? 86_400 : match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}
