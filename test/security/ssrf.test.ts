import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { isPublicAddress, type App } from 'apflow';
import { createOutbound } from '../../kernel/outbound/outbound-policy.ts';
import { createSelfAddresses } from '../../kernel/outbound/self-addresses.ts';
import { eventually, httpReceiver, rpc, testApp } from '../helpers.ts';

// Issue 18, finding 3: with auth on, any user could make rest_executor read loopback, private and
// link-local addresses (an internal admin port, a cloud metadata endpoint) and see the answer in
// the task result. Every network target a task or a client names now goes through one outbound
// policy (config `outbound`), checked on the very addresses each connection opens to.

const SECRET = 'ssrf-test-secret-that-is-long-enough-0123';
const HINT = '(allow it with outbound.allow_hosts or outbound.allow_private)';

interface Listener {
  port: number;
  /** Paths (with query) of the requests it got. */
  hits: string[];
}

/** An HTTP server on `host` (port 0: any free one) that counts its requests; `answer` may redirect. */
async function listener(
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
async function world(t: TestContext, inline: Record<string, unknown> = {}) {
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

test('rest_executor cannot reach a loopback port other than the server: the task fails with the refusal, the listener gets nothing', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const outcome = await run('bob', `http://127.0.0.1:${admin.port}/admin?api_key=key-in-query`);
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://127.0.0.1:${admin.port}/ is refused: 127.0.0.1 is not a public address ${HINT}`,
  );
  assert.ok(!JSON.stringify(outcome).includes('key-in-query'), 'the query string (it may hold a key) is not repeated');
  assert.deepEqual(admin.hits, [], 'no request reached the listener');
});

test('the cloud metadata address is refused before any connection is attempted', async (t) => {
  const { run, url } = await world(t);
  const attempts: string[] = [];
  const onSocket = ({ socket }: { socket: Socket }) =>
    void socket.on('connectionAttempt', (ip: string, port: number) => attempts.push(`${ip}:${port}`));
  dc.subscribe('net.client.socket', onSocket as (message: unknown) => void);
  t.after(() => dc.unsubscribe('net.client.socket', onSocket as (message: unknown) => void));
  const outcome = await run('bob', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://169.254.169.254/ is refused: 169.254.169.254 is not a public address ${HINT}`,
  );
  assert.ok(
    attempts.includes(`127.0.0.1:${new URL(url).port}`),
    `connection attempts are seen (the test's own call): ${attempts.join()}`,
  );
  assert.ok(!attempts.some((attempt) => attempt.startsWith('169.254.')), attempts.join());
});

test('other spellings of loopback are refused: IPv4-mapped and -compatible IPv6, decimal, octal, hex and short IPv4', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const { port } = admin;
  for (const [target, address] of [
    [`http://[::ffff:127.0.0.1]:${port}/`, '::ffff:7f00:1'],
    [`http://[::127.0.0.1]:${port}/`, '::7f00:1'],
    [`http://2130706433:${port}/`, '127.0.0.1'],
    [`http://0177.0.0.1:${port}/`, '127.0.0.1'],
    [`http://0x7f.1:${port}/`, '127.0.0.1'],
    [`http://127.1:${port}/`, '127.0.0.1'],
    [`http://[::1]:${port}/`, '::1'],
    [`http://0.0.0.0:${port}/`, '0.0.0.0'],
  ]) {
    const outcome = await run('bob', target as string);
    assert.equal(outcome.status, 'failed', target);
    assert.match(
      outcome.error ?? '',
      new RegExp(`is refused: ${(address as string).replace(/\./g, '\\.')} is not a public address`),
      target,
    );
  }
  assert.deepEqual(admin.hits, []);
});

test('a name that resolves to loopback (localhost) is refused when the connection opens', async (t) => {
  const { run } = await world(t);
  const admin = await listener(t);
  const outcome = await run('bob', `http://localhost:${admin.port}/`);
  assert.equal(outcome.status, 'failed');
  assert.match(
    outcome.error ?? '',
    new RegExp(
      `^rest_executor: http://localhost:${admin.port}/ is refused: localhost resolves to (127\\.0\\.0\\.1|::1), which is not a public address`,
    ),
  );
  assert.deepEqual(admin.hits, []);
});

test('a redirect from an allowed host to a refused one is refused at the hop; the allowed host itself works', async (t) => {
  const { run } = await world(t, { outbound: { allow_hosts: ['localhost'] } });
  const inner = await listener(t, '127.0.0.2');
  const front = await listener(t, '127.0.0.1', 0, (req, res) => {
    if (req.url === '/plain') return res.end('front');
    res.writeHead(302, { location: `http://127.0.0.2:${inner.port}/secret` }).end();
  });
  const plain = await run('bob', `http://localhost:${front.port}/plain`);
  assert.equal(plain.status, 'completed', plain.error);
  assert.equal(plain.result?.body, 'front');

  const outcome = await run('bob', `http://localhost:${front.port}/hop`);
  assert.equal(outcome.status, 'failed');
  assert.equal(
    outcome.error,
    `rest_executor: http://127.0.0.2:${inner.port}/ is refused: 127.0.0.2 is not a public address ${HINT} (redirected from GET http://localhost:${front.port}/hop)`,
  );
  assert.deepEqual(front.hits, ['/plain', '/hop']);
  assert.deepEqual(inner.hits, [], 'the redirect target got nothing');
});

test("the server's own address stays allowed: a task calling its /health, and the REST example tree, complete", async (t) => {
  const { app, url, run } = await world(t);
  const port = new URL(url).port;
  for (const target of [`${url}/health`, `http://localhost:${port}/health`]) {
    const outcome = await run('alice', target);
    assert.equal(outcome.status, 'completed', `${target}: ${outcome.error}`);
    assert.equal(outcome.result?.status_code, 200);
  }
  const examples = app.service('examples');
  assert.ok(examples);
  await examples.init();
  assert.equal(await examples.pointAtSelf(Number(port)), true);
  const { done } = await app.engine.execute('example-rest-health');
  const outcome = await done;
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
  assert.equal(((await app.tasks.get('example-rest-health'))?.result as { status_code: number }).status_code, 200);
});

test('outbound.allow_private allows private targets; outbound.deny_hosts still wins', async (t) => {
  const admin = await listener(t);
  const open = await world(t, { outbound: { allow_private: true } });
  const allowed = await open.run('bob', `http://127.0.0.1:${admin.port}/ok`);
  assert.equal(allowed.status, 'completed', allowed.error);
  assert.deepEqual(admin.hits, ['/ok']);

  const denied = await world(t, { outbound: { allow_private: true, deny_hosts: ['127.0.0.1'] } });
  const viaName = await denied.run('bob', `http://localhost:${admin.port}/no`);
  assert.equal(viaName.status, 'failed');
  assert.match(viaName.error ?? '', /is refused: localhost resolves to 127\.0\.0\.1, which is on outbound\.deny_hosts/);
  const direct = await denied.run('bob', `http://127.0.0.1:${admin.port}/no`);
  assert.match(direct.error ?? '', /is refused: 127\.0\.0\.1 is on outbound\.deny_hosts/);
  assert.deepEqual(admin.hits, ['/ok']);
});

test('webhooks.allow_hosts is an alias for webhooks only; outbound.allow_hosts also allows webhooks', async (t) => {
  const admin = await listener(t);
  const webhooksOnly = await world(t, { webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] } });
  const refused = await webhooksOnly.run('bob', `http://127.0.0.1:${admin.port}/`);
  assert.equal(refused.status, 'failed', 'rest_executor is not opened by the webhooks alias');
  assert.deepEqual(admin.hits, []);

  const receiver = await httpReceiver(t);
  const outbound = await world(t, { outbound: { allow_hosts: ['127.0.0.1'] } });
  const jwt = outbound.app.service('jwt-auth');
  const answer = await rpc(
    outbound.url,
    '/tasks',
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: {
        tasks: [{ name: 'hooked', schemas: { method: 'aggregate_results_executor' } }],
        webhook_config: { url: receiver.url },
      },
    },
    { authorization: `Bearer ${await jwt?.mint('alice', [], '1h')}` },
  );
  assert.equal((answer.body?.error as unknown) ?? null, null, JSON.stringify(answer.body));
  await eventually(() => receiver.delivered().some((body) => body.final === true), 10_000);
});

test('a rebinding name cannot slip through: the connection goes to the address that was checked', async (t) => {
  const allowed = await listener(t, '127.0.0.2');
  const other = await listener(t, '127.0.0.3', allowed.port);
  const answers: string[][] = [['127.0.0.2'], ['127.0.0.3']];
  const asked: string[] = [];
  // The resolver is the policy's collaborator: its first answer is allowed, every later one is not.
  const outbound = createOutbound({
    rules: { allow_private: false, allow_hosts: ['127.0.0.2'], deny_hosts: [] },
    self: createSelfAddresses(),
    resolve: async (host) => {
      asked.push(host);
      return (answers.shift() ?? ['127.0.0.3']).map((address) => ({ address, family: 4 }));
    },
  });
  t.after(() => outbound.close());
  const response = await outbound.fetch(`http://rebind.test:${allowed.port}/first`);
  assert.equal(response.status, 200);
  await response.text();
  assert.deepEqual(allowed.hits, ['/first']);
  assert.deepEqual(other.hits, []);
  assert.deepEqual(asked, ['rebind.test'], 'one answer per connection, the one that was checked');

  // A new connection asks again; now the answer is refused and nothing is sent anywhere.
  const fresh = createOutbound({
    rules: { allow_private: false, allow_hosts: ['127.0.0.2'], deny_hosts: [] },
    self: createSelfAddresses(),
    resolve: async () => [{ address: '127.0.0.3', family: 4 }],
  });
  t.after(() => fresh.close());
  await assert.rejects(fresh.fetch(`http://rebind.test:${allowed.port}/second`), (error: Error) => {
    assert.match(
      String((error.cause as Error | undefined)?.message),
      /rebind\.test resolves to 127\.0\.0\.3, which is not a public address/,
    );
    return true;
  });
  // Every answer is checked: one allowed address among refused ones is not enough.
  const mixed = createOutbound({
    rules: { allow_private: false, allow_hosts: ['127.0.0.2'], deny_hosts: [] },
    self: createSelfAddresses(),
    resolve: async () => ['127.0.0.2', '127.0.0.3'].map((address) => ({ address, family: 4 })),
  });
  t.after(() => mixed.close());
  assert.equal(
    await mixed.check(`http://rebind.test:${allowed.port}/`),
    `is refused: rebind.test resolves to 127.0.0.3, which is not a public address ${HINT}`,
  );
  assert.deepEqual(allowed.hits, ['/first']);
  assert.deepEqual(other.hits, []);
});

test('checkHost answers checked addresses for non-HTTP clients, and refuses like fetch', async (t) => {
  const self = createSelfAddresses();
  self.listening('127.0.0.1', 8123);
  const outbound = createOutbound({ rules: { allow_private: false, allow_hosts: [], deny_hosts: [] }, self });
  t.after(() => outbound.close());
  assert.deepEqual(
    await outbound.checkHost('127.0.0.1', 8123),
    [{ address: '127.0.0.1', family: 4 }],
    "the server's own host:port",
  );
  await assert.rejects(
    outbound.checkHost('127.0.0.1', 8124),
    /^ApflowError: 127\.0\.0\.1:8124 is refused: 127\.0\.0\.1 is not a public address/,
  );
  await assert.rejects(outbound.checkHost('0177.0.0.1', 22), /127\.0\.0\.1:22|0177\.0\.0\.1:22/);
  await assert.rejects(
    outbound.checkHost('::ffff:169.254.169.254', 80),
    /is refused: ::ffff:a9fe:a9fe is not a public address/,
  );
  const wider = outbound.with({ allow_hosts: ['127.0.0.1'] });
  assert.deepEqual(await wider.checkHost('127.0.0.1', 22), [{ address: '127.0.0.1', family: 4 }]);
  assert.equal(
    await outbound.check('http://user:pw@example.com/'),
    'must not carry credentials (use authentication or token)',
  );
  assert.equal(await outbound.check('ftp://example.com/'), 'must use http or https');
});

test('isPublicAddress: non-public ranges and IPv6 forms that carry a non-public IPv4', () => {
  const cases: [string, boolean][] = [
    ['8.8.8.8', true],
    ['172.32.0.1', true],
    ['2606:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::8.8.8.8', true],
    ['2002:808:808::1', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['240.0.0.1', false],
    ['255.255.255.255', false],
    ['192.0.2.1', false],
    ['198.18.0.1', false],
    ['::', false],
    ['::1', false],
    ['fe80::1', false],
    ['fe80::1%eth0', false],
    ['fc00::1', false],
    ['fd00::1', false],
    ['ff02::1', false],
    ['fec0::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:a9fe:a9fe', false],
    ['::127.0.0.1', false],
    ['::8.8.8.8', false],
    ['64:ff9b::127.0.0.1', false],
    ['64:ff9b::10.0.0.1', false],
    ['64:ff9b:1::1', false],
    ['2002:7f00:1::1', false],
    ['2002:c0a8:101::1', false],
    ['2001::1', false],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false],
    ['2001:db8::1', false],
    ['localhost', false],
  ];
  for (const [address, expected] of cases) assert.equal(isPublicAddress(address), expected, address);
});

test('APFLOW_OUTBOUND_* environment variables set the outbound section', async (t) => {
  const app = await testApp(
    t,
    {},
    {
      env: {
        APFLOW_OUTBOUND_ALLOW_PRIVATE: 'true',
        APFLOW_OUTBOUND_ALLOW_HOSTS: 'a.internal, 10.0.0.5',
        APFLOW_OUTBOUND_DENY_HOSTS: 'b.internal',
      },
    },
  );
  assert.deepEqual(app.config.outbound, {
    allow_private: true,
    allow_hosts: ['a.internal', '10.0.0.5'],
    deny_hosts: ['b.internal'],
  });
  await assert.rejects(
    testApp(t, {}, { env: { APFLOW_OUTBOUND_ALLOW_PRIVATE: 'maybe' } }),
    /APFLOW_OUTBOUND_ALLOW_PRIVATE must be true or false/,
  );
});
