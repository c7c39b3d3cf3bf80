import { ApflowError, type PluginApp } from 'apflow';
import { mintToken } from './mint-token.ts';
import { createRateLimit } from './rate-limit.ts';
import type { JwtAuthConfig } from './settings.ts';
import type { UserStore } from './user-store.ts';

/**
 * `POST /auth/login {username, password}` → `{access_token, token_type: "bearer", expires_in}`.
 * A wrong username and a wrong password get the same answer in the same time; attempts are
 * limited per IP and per username (429 with Retry-After).
 */
export function mountLoginRoute(app: PluginApp, users: UserStore, settings: JwtAuthConfig): void {
  const byIp = createRateLimit(settings.login_max_attempts, settings.login_window_s);
  const byName = createRateLimit(settings.login_max_attempts, settings.login_window_s);
  const expiresS = app.config.auth.token_expires_s ?? 86_400;
  app.http.post('/auth/login', async (request, reply) => {
    const body = request.body as { username?: unknown; password?: unknown } | null;
    const username = body?.username;
    const password = body?.password;
    // Every attempt counts, malformed ones too.
    const wait = Math.max(byIp.hit(request.ip), typeof username === 'string' ? byName.hit(username.toLowerCase()) : 0);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new ApflowError('APF_RATE_LIMITED', { message: `Too many login attempts; try again in ${wait} s` });
    }
    if (typeof username !== 'string' || username === '' || username.length > 255 || typeof password !== 'string' || password === '' || password.length > 1024) {
      throw new ApflowError('APF_INVALID_PARAMS', { message: 'the body must be JSON {"username": "…", "password": "…"} (non-empty strings)' });
    }
    const user = await users.check(username, password);
    if (!user) throw new ApflowError('APF_UNAUTHENTICATED', { message: 'Invalid username or password' });
    request.log.info({ user: user.username }, 'login');
    return { access_token: await mintToken(app.config.auth, user.username, user.roles, expiresS), token_type: 'bearer', expires_in: expiresS };
  });
}
