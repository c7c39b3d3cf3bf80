import { ApflowError, definePlugin, version } from 'apflow';
import { mountLoginRoute } from './login-route.ts';
import { migrations } from './migrations.ts';
import { mintToken, parseDuration } from './mint-token.ts';
import { JwtAuthSettings, type JwtAuthConfig } from './settings.ts';
import { isPublic, tokenOf } from './token-source.ts';
import { createTokenVerifier } from './token-verifier.ts';
import { createUserStore, type UserStore } from './user-store.ts';

/** What the plugin offers the CLI (`apflow users …`, `apflow auth token`). */
export interface JwtAuthService {
  users: UserStore;
  /** A token for `sub` signed with the configured secret; `expires` like `30d`. */
  mint(sub: string, roles: string[], expires: string): Promise<string>;
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
    const users = createUserStore(app);
    app.provide('jwt-auth', { users, mint: (sub, roles, expires) => mintToken(auth, sub, roles, parseDuration(expires)) });
    if (!auth.enabled) return;
    if (!auth.jwt_secret && !auth.jwks_url) {
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'authentication is on (auth.enabled) but nothing can verify tokens: set auth.jwt_secret (env APFLOW_JWT_SECRET) or auth.jwks_url',
      });
    }
    if (auth.jwt_secret && Buffer.byteLength(auth.jwt_secret) < 32) {
      app.log.warn('auth.jwt_secret is shorter than 32 bytes: HS256 tokens signed with it can be brute-forced; use a long random secret');
    }
    const verify = createTokenVerifier(auth);
    app.hooks.auth.tapPromise('jwt-auth', async (request) => {
      const token = tokenOf(request);
      // Public routes answer everyone: a stale cookie does not lock a browser out of /health.
      if (isPublic(request)) return token ? verify(token).catch(() => undefined) : undefined;
      if (token) return verify(token);
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
    mountLoginRoute(app, users, app.settings as JwtAuthConfig);
  },
});
