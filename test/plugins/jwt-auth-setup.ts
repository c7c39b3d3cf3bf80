/** Shared setup of the jwt-auth tests: tokens signed by hand, an app with auth on, and a probe call. */
import type { TestContext } from 'node:test';
import { SignJWT } from 'jose';
import { rpc, testApp } from '../helpers.ts';

/** The HS256 secret the test apps verify tokens with. */
export const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
const key = (secret: string) => new TextEncoder().encode(secret);
/** Now, in seconds since the epoch (JWT time). */
export const now = () => Math.floor(Date.now() / 1000);

/** A token built by hand, so every claim (and the header) is the test's to choose. */
export async function sign(claims: Record<string, unknown>, options: { secret?: string; alg?: string } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' }).sign(key(options.secret ?? SECRET));
}
/** A token with `alg: none` and no signature. */
export const unsigned = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

/** A listening app with `auth` on (by default the shared secret). */
export async function authedApp(
  t: TestContext,
  auth: Record<string, unknown> = { jwt_secret: SECRET },
  extra: Record<string, unknown> = {},
) {
  const app = await testApp(t, { auth, ...extra });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** What `POST /tasks tasks.count` answers with `token` (status, body, WWW-Authenticate). */
export async function count(url: string, token?: string) {
  const answer = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );
  return {
    status: answer.status,
    body: answer.body as { result?: { user_id?: string }; error?: { code: number; message: string } },
    challenge: answer.headers.get('www-authenticate'),
  };
}
