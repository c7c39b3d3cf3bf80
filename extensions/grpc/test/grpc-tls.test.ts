import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GREETER_TEXT, grpcApp, runGrpc, startGreeter, tlsFile } from './grpc-setup.ts';

// The certificate names only `localhost` (no IP): a call that succeeds proves the name was checked
// although the channel connects to the checked address 127.0.0.1.
const tlsTargets = { outbound: { allow_hosts: ['localhost', '127.0.0.1'] } };

describe('grpc_executor over TLS', () => {
  test('with tls.ca the certificate is verified against the host name, not the address connected to', async (t) => {
    const { port, seen } = await startGreeter(t, { tls: true });
    const app = await grpcApp(t, tlsTargets);
    const base = { service: 'demo.Greeter', method: 'SayHello', request: { name: 'tls' }, proto: GREETER_TEXT };
    const ok = await runGrpc(app, { ...base, server: `localhost:${port}`, tls: { ca: tlsFile('ca.pem') } });
    assert.equal(ok.row.status, 'completed', String(ok.row.error));
    assert.equal((ok.row.result as { response: { message: string } }).response.message, 'hello tls');
    assert.deepEqual(seen.calls[0]?.metadata.get(':authority'), [], 'metadata stays metadata');

    const wrongName = await runGrpc(app, {
      ...base,
      server: `localhost:${port}`,
      tls: { ca: tlsFile('ca.pem'), server_name: 'other.example' },
    });
    assert.equal(wrongName.row.status, 'failed');
    assert.match(String(wrongName.row.error), /^grpc_executor: demo\.Greeter\/SayHello failed: UNAVAILABLE \(14\)/);

    const untrusted = await runGrpc(app, { ...base, server: `localhost:${port}`, tls: true });
    assert.equal(untrusted.row.status, 'failed', 'the system roots do not trust the test CA');
    assert.match(String(untrusted.row.error), /UNAVAILABLE \(14\)/);

    const skipped = await runGrpc(app, { ...base, server: `127.0.0.1:${port}`, tls: { insecure_skip_verify: true } });
    assert.equal(skipped.row.status, 'completed', String(skipped.row.error));
    assert.equal(seen.calls.length, 2, 'only the verified and the unverified calls reached the service');
  });

  test('a plaintext call to a TLS server fails as UNAVAILABLE; a half client certificate is refused', async (t) => {
    const { port } = await startGreeter(t, { tls: true });
    const app = await grpcApp(t, tlsTargets);
    const base = { service: 'demo.Greeter', method: 'SayHello', proto: GREETER_TEXT, server: `127.0.0.1:${port}` };
    const plain = await runGrpc(app, { ...base, timeout: 5 });
    assert.match(
      String(plain.row.error),
      /^grpc_executor: demo\.Greeter\/SayHello failed: (UNAVAILABLE \(14\)|INTERNAL \(13\))/,
    );
    const half = await runGrpc(app, { ...base, tls: { cert: tlsFile('server.pem') } });
    assert.equal(
      half.row.error,
      'grpc_executor: tls.cert and tls.key go together (a client certificate and its private key, PEM)',
    );
  });
});
