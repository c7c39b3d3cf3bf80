import { ApflowError, definePlugin, version, type RequestContext } from 'apflow';
import { mountLoginRoute } from './login-route.ts';
import { migrations } from './migrations.ts';
import { mintToken, parseDuration } from './mint-token.ts';
import { JwtAuthSettings } from './settings.ts';
import { createCookieOriginRule } from './cookie-origin.ts';
import { createRevocationCheck } from './token-revocation.ts';
import { isPublic, PUBLIC_PATHS, tokenOf, type CarriedToken } from './token-source.ts';
import { createTokenVerifier } from './token-verifier.ts';
import { createUserStore, type UserStore } from './user-store.ts';

/** What the plugin offers the CLI (`apflow users …`, `apflow auth token`). */
export interface JwtAuthService {
  users: UserStore;
  /**
   * A token for `sub` signed with the configured secret; `expires` like `30d`. When `sub` is a
   * stored user, the token is revoked with that user (removed, or given a new password).
   */
  mint(sub: string, roles: string[], expires: string): Promise<string>;
  /** Seconds within which a revoked token is refused by a running server (`jwt_auth.token_recheck_s`). */
  revocationDelayS: number;
  /** Paths anyone may reach without a token (the API docs mark them so). */
  publicPaths: ReadonlySet<string>;
}

declare module 'apflow' {
  interface KernelServices {
    'jwt-auth': JwtAuthService;
  }
}

/**
 * JWT authentication (reference/original-apflow.md §9): on when `auth.enabled` is true or a JWT
 * secret is set. Every request but the public ones must carry a valid token; its `sub` is the
 * principal the tasks API isolates users by, `roles` containing `admin` an administrator.
 */
export default definePlugin({
  name: 'jwt-auth',
  version,
  config: { key: 'jwt_auth', schema: JwtAuthSettings },
  migrations,
  setup(app) {
    const auth = app.config.auth;
    const settings = app.settings;
    const users = createUserStore(app);
    app.provide('jwt-auth', {
      users,
      // A token for a stored user's name is bound to that user like a login token (revoked with it).
      mint: async (sub, roles, expires) =>
        mintToken(auth, sub, roles, parseDuration(expires), (await users.tokenVersion(sub)) ?? undefined),
      revocationDelayS: settings.token_recheck_s,
      publicPaths: PUBLIC_PATHS,
    });
    if (!auth.enabled) return;
    if (!auth.jwt_secret && !auth.jwks_url) {
      throw new ApflowError('APF_CONFIG_INVALID', {
        message:
          'authentication is on (auth.enabled) but nothing can verify tokens: set auth.jwt_secret (env APFLOW_JWT_SECRET) or auth.jwks_url',
      });
    }
    if (auth.jwt_secret && Buffer.byteLength(auth.jwt_secret) < 32) {
      app.log.warn(
        'auth.jwt_secret is shorter than 32 bytes: HS256 tokens signed with it can be brute-forced; use a long random secret',
      );
    }
    const verify = createTokenVerifier(auth, createRevocationCheck(users, { recheckS: settings.token_recheck_s }));
    const checkCookieOrigin = createCookieOriginRule(app.config.server.cors_origins);
    const principalOf = async (request: RequestContext, carried: CarriedToken) => {
      // A browser sends cookies with requests other sites' pages make: those must come from an allowed origin.
      if (carried.from === 'cookie') checkCookieOrigin(request);
      return verify(carried.token);
    };
    app.hooks.auth.tapPromise('jwt-auth', async (request) => {
      const carried = tokenOf(request);
      // Public routes answer everyone: a stale cookie does not lock a browser out of /health.
      if (isPublic(request)) return carried ? principalOf(request, carried).catch(() => undefined) : undefined;
      if (carried) return principalOf(request, carried);
      // A WebSocket may open without a token and authenticate with its first message.
      if (request.transport === 'http' && request.route === '/ws') return undefined;
      if (request.transport === 'ws' && request.method === 'ws.ping') return undefined;
      throw new ApflowError('APF_UNAUTHENTICATED', {
        message:
          request.transport === 'ws'
            ? 'Authentication required: send {"action": "auth", "token": "<JWT>"} first (or connect with ?token=)'
            : 'Authentication required: send Authorization: Bearer <token> (POST /auth/login gives one)',
      });
    });
    mountLoginRoute(app, users, settings);
  },
});
