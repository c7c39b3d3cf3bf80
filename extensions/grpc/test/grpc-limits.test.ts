import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grpcApp, runGrpc } from './grpc-setup.ts';
import { LIMITS_PROTO, startLimits } from './limits-setup.ts';

const call = (server: string, method: string, extra: Record<string, unknown> = {}) => ({
  server,
  service: 'lim.Lim',
  method,
  proto: LIMITS_PROTO,
  ...extra,
});
const retried = { params: { retries: 2, retry_delay_s: 0 } };

describe('grpc_executor response limits (max_bytes)', () => {
  test('a unary response over max_bytes fails clearly and is not retried (on the wire, and as JSON)', async (t) => {
    const { server, requests } = await startLimits(t);
    const app = await grpcApp(t);
    // 300 KB in one message: grpc-js refuses it as it arrives (RESOURCE_EXHAUSTED raised locally).
    const wire = await runGrpc(app, call(server, 'Big', { request: { size: 300_000 }, max_bytes: 100_000 }), retried);
    assert.equal(wire.row.status, 'failed');
    assert.equal(
      wire.row.error,
      'grpc_executor: lim.Lim/Big: the response is larger than max_bytes (100000 bytes); raise max_bytes (at most 67108864) or ask for less',
    );
    assert.equal(requests.length, 1, 'not retried');
    // 80 KB fits on the wire, but is 107 KB of base64 JSON.
    const json = await runGrpc(app, call(server, 'Big', { request: { size: 80_000 }, max_bytes: 100_000 }), retried);
    assert.match(String(json.row.error), /the response is larger than max_bytes \(100000 bytes\)/);
    assert.equal(requests.length, 2, 'not retried');
    const fits = await runGrpc(app, call(server, 'Big', { request: { size: 50_000 }, max_bytes: 100_000 }));
    assert.equal(fits.row.status, 'completed', String(fits.row.error));
  });

  test('a stream is cut (truncated) once its messages pass max_bytes', async (t) => {
    const { server } = await startLimits(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(
      app,
      call(server, 'Many', { request: { count: 100, size: 10_000 }, max_bytes: 200_000 }),
    );
    assert.equal(row.status, 'completed', String(row.error));
    const result = row.result as { message_count: number; truncated: boolean };
    assert.equal(result.truncated, true);
    // 10,000 bytes a message are 13,336 characters of JSON: 14 fit in 200,000.
    assert.equal(result.message_count, 14);
  });

  test('empty messages with many fields are not inflated with defaults', async (t) => {
    const { server } = await startLimits(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, call(server, 'Empties', { request: { count: 20_000 } }));
    assert.equal(row.status, 'completed', String(row.error));
    const { response } = row.result as { response: { wide: object[] } };
    assert.equal(response.wide.length, 20_000);
    assert.ok(JSON.stringify(response).length < 200_000, 'about 3 characters per empty message');
  });
});

describe('grpc_executor request checks', () => {
  test('keys that name no field and values of the wrong type fail before anything is sent', async (t) => {
    const { server, requests } = await startLimits(t);
    const app = await grpcApp(t);
    const error = async (request: Record<string, unknown>) =>
      String((await runGrpc(app, call(server, 'Echo', { request }), retried)).row.error);
    const prefix = "grpc_executor: the request does not fit lim.Lim/Echo's request message Req: ";
    assert.equal(
      await error({ userId: 'x' }),
      `${prefix}request.userId is not a field of Req (fields: user_id, count, big, size, inner, tally)`,
    );
    assert.equal(
      await error({ count: 'abc' }),
      `${prefix}request.count must be an integer from -2147483648 to 2147483647 (int32), got "abc"`,
    );
    assert.match(await error({ count: 1e20 }), /request\.count must be an integer .* got 100000000000000000000$/);
    assert.match(await error({ big: 1e20 }), /request\.big must be an integer \(a decimal string beyond 2\^53\)/);
    assert.match(
      await error({ inner: { n: -1 } }),
      /request\.inner\.n must be an integer from 0 to 4294967295 \(uint32\)/,
    );
    assert.match(await error({ inner: { m: 1 } }), /request\.inner\.m is not a field of Inner/);
    assert.match(await error({ tally: { a: 'x' } }), /request\.tally\["a"\] must be an integer/);
    assert.equal(requests.length, 0, 'none was sent');

    const ok = await runGrpc(
      app,
      call(server, 'Echo', { request: { user_id: 'u', big: '9007199254740993', count: '7' } }),
    );
    assert.equal(ok.row.status, 'completed', String(ok.row.error));
    assert.deepEqual(requests, [{ user_id: 'u', count: 7, big: '9007199254740993', size: 0, inner: null, tally: {} }]);
  });
});

describe('grpc_executor schema caps', () => {
  test('a message with too many fields is refused before it is parsed', async (t) => {
    const { server, requests } = await startLimits(t);
    const app = await grpcApp(t);
    const fields = Array.from({ length: 1500 }, (_, i) => `  int32 f${i + 1} = ${i + 1};`).join('\n');
    const proto = `${LIMITS_PROTO}\nmessage Huge {\n${fields}\n}\n`;
    const { row } = await runGrpc(app, call(server, 'Echo', { proto }));
    assert.equal(row.status, 'failed');
    assert.equal(
      row.error,
      'grpc_executor: the .proto text declares too much: at most 1000 fields or declarations in one message, enum or service, and 20000 in all',
    );
    const tooLong = await runGrpc(app, call(server, 'Echo', { proto: `${LIMITS_PROTO}//${'x'.repeat(300_000)}` }));
    assert.equal(tooLong.row.status, 'failed');
    assert.match(String(tooLong.row.error), /\/proto must not have more than 262144 characters/);
    assert.equal(requests.length, 0);
  });
});
