/** Shared setup of the SSRF tests: local listeners that count their requests, and an app with auth on that runs rest_executor tasks. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import type { App } from 'apflow';
import { rpc, testApp } from '../helpers.ts';

const SECRET = 'ssrf-test-secret-that-is-long-enough-0123';
/** The hint every refusal ends with. */
export const HINT = '(allow it with outbound.allow_hosts or outbound.allow_private)';

interface Listener {
  port: number;
  /** Paths (with query) of the requests it got. */
  hits: string[];
}

/** An HTTP server on `host` (port 0: any free one) that counts its requests; `answer` may redirect. */
export async function listener(
  t: TestContext,
  host = '127.0.0.1',
  port = 0,
  answer?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Listener> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (answer) return answer(req, res);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ secret: 'internal admin data' }));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  t.after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { port: (server.address() as { port: number }).port, hits };
}

/** An app with auth on and two users, listening on 127.0.0.1; `run` executes a rest_executor task as one of them. */
export async function world(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = (await testApp(t, {
    auth: { enabled: true, jwt_secret: SECRET },
    server: { shutdown_timeout_s: 0 },
    ...inline,
  })) as App;
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const tokens = { alice: await jwt.mint('alice', [], '1h'), bob: await jwt.mint('bob', [], '1h') };
  const run = async (who: keyof typeof tokens, target: string) => {
    const answer = await rpc(
      url,
      '/tasks',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tasks.execute',
        params: {
          tasks: [{ name: 'call', schemas: { method: 'rest_executor' }, inputs: { url: target, timeout: 5 } }],
        },
      },
      { authorization: `Bearer ${tokens[who]}` },
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const result = answer.body?.result as
      { status: string; error?: string; result?: { status_code: number; body: string } } | undefined;
    assert.ok(result, JSON.stringify(answer.body));
    return result;
  };
  return { app, url, run };
}
