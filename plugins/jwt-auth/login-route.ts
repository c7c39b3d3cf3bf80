import { ApflowError, type FastifyReply, type PluginApp } from 'apflow';
import { addressKey } from './client-address.ts';
import { mintToken } from './mint-token.ts';
import { createRateLimit } from './rate-limit.ts';
import type { JwtAuthConfig } from './settings.ts';
import type { UserStore } from './user-store.ts';

/** The largest login body read (a username of 255 and a password of 1,024 characters fit many times over). */
export const LOGIN_BODY_LIMIT = 16 * 1024;

/** `{username, password}` from a login body, or a 400 saying what is wrong. */
function credentials(body: unknown): { username: string; password: string } {
  const given = typeof body === 'object' && body !== null ? body : {};
  const username = 'username' in given ? given.username : undefined;
  const password = 'password' in given ? given.password : undefined;
  if (
    typeof username !== 'string' ||
    username === '' ||
    username.length > 255 ||
    typeof password !== 'string' ||
    password === '' ||
    password.length > 1024
  ) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message:
        'the body must be JSON {"username": "…", "password": "…"} (non-empty strings: a username of at most 255 characters, a password of at most 1024)',
    });
  }
  return { username, password };
}

function refuseWhenLimited(reply: FastifyReply, wait: number): void {
  if (wait === 0) return;
  void reply.header('retry-after', String(wait));
  throw new ApflowError('APF_RATE_LIMITED', { message: `Too many login attempts; try again in ${wait} s` });
}

/**
 * `POST /auth/login {username, password}` → `{access_token, token_type: "bearer", expires_in}`.
 * A wrong username and a wrong password get the same answer in the same time. Failed attempts
 * are limited per client address and per (address, username), so nobody elsewhere can lock a
 * user out; a success takes its attempt back and clears that username's count for the address.
 * The body is checked (at most 16 KB, well-formed) before any username is counted, and
 * every counter is bounded in size and age (rate-limit.ts).
 */
export function mountLoginRoute(app: PluginApp, users: UserStore, settings: JwtAuthConfig): void {
  const byAddress = createRateLimit({ max: settings.login_max_attempts_per_address, windowS: settings.login_window_s });
  const byUser = createRateLimit({ max: settings.login_max_attempts, windowS: settings.login_window_s });
  const expiresS = app.config.auth.token_expires_s ?? 86_400;
  app.http.post(
    '/auth/login',
    {
      bodyLimit: LOGIN_BODY_LIMIT,
      // A body that is too large or not JSON never reaches the handler: it counts against the address only.
      errorHandler(error, request) {
        const { code } = error;
        if (typeof code === 'string' && code.startsWith('FST_ERR_CTP_')) byAddress.hit(addressKey(request.ip));
        if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          throw new ApflowError('APF_BODY_TOO_LARGE', {
            message: `a login body is at most ${LOGIN_BODY_LIMIT / 1024} KB ({"username", "password"})`,
          });
        }
        throw error;
      },
    },
    async (request, reply) => {
      const at = Date.now();
      const address = addressKey(request.ip);
      refuseWhenLimited(reply, byAddress.hit(address, at));
      const { username, password } = credentials(request.body);
      const pair = `${address} ${username.toLowerCase()}`;
      refuseWhenLimited(reply, byUser.hit(pair, at));
      const user = await users.check(username, password);
      if (!user) throw new ApflowError('APF_UNAUTHENTICATED', { message: 'Invalid username or password' });
      // Counted up front (so parallel guesses cannot all slip through), taken back on success.
      byAddress.forget(address, at);
      byUser.reset(pair);
      request.log.info({ user: user.username }, 'login');
      const token = await mintToken(app.config.auth, user.username, user.roles, expiresS, user.token_version);
      return { access_token: token, token_type: 'bearer', expires_in: expiresS };
    },
  );
}
