/** Shared setup of the client tests: a real server (auth on, the fixture executors) and clients of it. */
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createClient, type ClientOptions } from 'apflow/client';
import { repoRoot, testApp } from '../helpers.ts';
import { sign } from '../plugins/jwt-auth-setup.ts';

export const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/**
 * A listening server on in-memory SQLite with jwt-auth on, and a client of it for `alice` (and
 * one for an administrator); `inline` adds config.
 */
export async function clientServer(
  t: TestContext,
  inline: Record<string, unknown> = {},
  options: Partial<ClientOptions> = {},
) {
  const app = await testApp(t, {
    executors: { dirs: [fixtures] },
    auth: { jwt_secret: 'client-test-secret-long-enough-for-hs256!' },
    ...inline,
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tokenFor = (sub: string, roles: string[] = []) =>
    sign(
      { sub, roles, exp: Math.floor(Date.now() / 1000) + 3600 },
      { secret: 'client-test-secret-long-enough-for-hs256!' },
    );
  const alice = createClient({ baseUrl: url, token: await tokenFor('alice'), ...options });
  const admin = createClient({ baseUrl: url, token: await tokenFor('root', ['admin']), ...options });
  return { app, url, alice, admin, tokenFor };
}
