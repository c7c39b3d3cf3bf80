import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPublicAddress } from 'apflow';
import { createOutbound } from '../../kernel/outbound/outbound-policy.ts';
import { createSelfAddresses } from '../../kernel/outbound/self-addresses.ts';
import { HINT, listener } from './ssrf-setup.ts';

// Issue 18, finding 3: with auth on, any user could make rest_executor read loopback, private and
// link-local addresses (an internal admin port, a cloud metadata endpoint) and see the answer in
// the task result. Every network target a task or a client names now goes through one outbound
// policy (config `outbound`), checked on the very addresses each connection opens to.

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
