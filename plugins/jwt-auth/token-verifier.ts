import type { errors as JoseErrors, JWTPayload, JWTVerifyGetKey } from 'jose';
import { ApflowError, isApflowError, type ApflowConfig, type Principal, loadOnce } from 'apflow';

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Why a token was refused, as the client is told (never the token itself). */
function refusal(error: unknown, errors: typeof JoseErrors): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is not valid (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm this server does not accept';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the identity provider matches the token';
  return 'the token is not a valid JWT';
}

/** The principal a verified token names: `sub`, with `roles` (a list) or `role` (one). */
export function principalOf(payload: JWTPayload): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new ApflowError('APF_UNAUTHENTICATED', { message: 'Invalid token: it has no sub (subject) claim' });
  }
  const roles = Array.isArray(payload.roles)
    ? payload.roles.filter((role): role is string => typeof role === 'string')
    : typeof payload.role === 'string'
      ? [payload.role]
      : [];
  return { user_id: payload.sub, roles, claims: payload };
}

/**
 * Verifies JWTs as `auth` configures: HS256 (or `jwt_algorithm`) with `jwt_secret`, or the keys
 * of `jwks_url` (RS/PS/ES/EdDSA); `exp` is required and enforced, `nbf` honoured, `iss` and `aud`
 * checked when configured. Unsigned (`alg: none`), tampered, expired and wrong-key tokens fail.
 * `checkOwn` runs on the principal of every token signed with `jwt_secret` (tokens this server
 * minted), e.g. to refuse revoked ones; it throws to refuse.
 */
export function createTokenVerifier(
  auth: ApflowConfig['auth'],
  checkOwn: (principal: Principal) => Promise<void> = async () => {},
) {
  const secret = auth.jwt_secret ? new TextEncoder().encode(auth.jwt_secret) : undefined;
  const jwksUrl = auth.jwks_url ? new URL(auth.jwks_url) : undefined;
  // jose loads with the first token to verify: a server nobody has called yet does not read it.
  const jose = loadOnce(async () => {
    const { createRemoteJWKSet, errors, jwtVerify } = await import('jose');
    const jwks: JWTVerifyGetKey | undefined = jwksUrl ? createRemoteJWKSet(jwksUrl) : undefined;
    return { errors, jwtVerify, jwks };
  });
  const options = {
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
    requiredClaims: ['exp'],
    clockTolerance: 5,
  };
  return async function verify(token: string): Promise<Principal> {
    const { errors, jwtVerify, jwks } = await jose();
    try {
      if (secret) {
        const algorithms = [auth.jwt_algorithm ?? 'HS256'];
        let payload: JWTPayload | undefined;
        try {
          payload = (await jwtVerify(token, secret, { ...options, algorithms })).payload;
        } catch (error) {
          // With both configured, a token the secret cannot verify may come from the identity provider.
          if (!jwks || error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed)
            throw error;
        }
        if (payload) {
          const principal = principalOf(payload);
          await checkOwn(principal);
          return principal;
        }
      }
      return principalOf(
        // index.ts starts only with a secret or a JWKS: without a secret, there is a JWKS.
        (
          await jwtVerify(token, jwks as JWTVerifyGetKey, {
            ...options,
            algorithms: auth.jwt_algorithm ? [auth.jwt_algorithm] : ASYMMETRIC,
          })
        ).payload,
      );
    } catch (error) {
      if (isApflowError(error)) throw error;
      throw new ApflowError('APF_UNAUTHENTICATED', {
        message: `Invalid or expired token: ${refusal(error, errors)}`,
      });
    }
  };
}
