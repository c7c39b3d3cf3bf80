import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryLog } from '../../../test/helpers.ts';
import { GREETER_TEXT, grpcApp, runGrpc, startGreeter } from './grpc-setup.ts';

const TOKEN = 'grpc-secret-token-5f1c0e7a9b';
const KEY = 'grpc-secret-tls-key-0d9e8c7b';

test('metadata tokens and tls.key reach the call but never the database file, the result or the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-grpc-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { server, seen } = await startGreeter(t);
  const log = memoryLog();
  const app = await grpcApp(
    t,
    { database: { url: `sqlite:${join(dir, 't.db')}` }, log: { level: 'debug' } },
    { logStream: log.stream },
  );
  const base = { server, service: 'demo.Greeter', proto: GREETER_TEXT, metadata: { authorization: `Bearer ${TOKEN}` } };
  const ok = await runGrpc(app, { ...base, method: 'SayHello', request: { name: 'secret' } });
  assert.equal(ok.row.status, 'completed', String(ok.row.error));
  assert.deepEqual(seen.calls[0]?.metadata.get('authorization'), [`Bearer ${TOKEN}`], 'the server got the token');
  // A failing call whose server echoes the token in its details, and a tls.key that is not valid PEM.
  const echoed = await runGrpc(app, { ...base, method: 'Fail', request: { code: 16, details: 'bad $auth' } });
  assert.equal(echoed.row.status, 'failed');
  assert.match(String(echoed.row.error), /UNAUTHENTICATED \(16\): bad \*\*\*$/);
  const badKey = await runGrpc(app, { ...base, method: 'SayHello', tls: { cert: 'x', key: KEY } });
  assert.equal(badKey.row.status, 'failed');
  await app.close();

  for (const row of [ok.row, echoed.row, badKey.row]) {
    assert.doesNotMatch(JSON.stringify(row), new RegExp(`${TOKEN}|${KEY}`), 'not in the stored task');
  }
  for (const name of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, name)).toString('latin1');
    assert.ok(!bytes.includes(TOKEN), `the token is not in ${name}`);
    assert.ok(!bytes.includes(KEY), `the key is not in ${name}`);
  }
  assert.ok(log.lines.length > 0, 'the server logged');
  assert.ok(!log.text().includes(TOKEN), 'the token is not in the log');
  assert.ok(!log.text().includes(KEY), 'the key is not in the log');
});
