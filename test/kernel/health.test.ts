import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { rpc, testApp } from '../helpers.ts';

const postgres = testDatabases().find((db) => db.name === 'postgres');

test(
  'GET /health: 200 with the report while the database answers; 503 once it is gone, and system.health says unhealthy',
  { skip: postgres ? false : 'needs APFLOW_TEST_POSTGRES_URL' },
  async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const app = await testApp(t, { database: { url } });
    const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });
    const healthy = await fetch(`${base}/health`);
    assert.equal(healthy.status, 200);
    const report = (await healthy.json()) as Record<string, unknown>;
    for (const key of ['status', 'version', 'uptime_s', 'database', 'workers', 'plugins', 'reload_errors'])
      assert.ok(key in report, key);
    assert.equal((report.database as { ok: boolean }).ok, true);
    assert.ok(!JSON.stringify(report).includes(new URL(url).password || '\u0000'), 'no password in the report');

    // The database goes away: every connection is cut and the database dropped.
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    await admin.end();
    const down = await fetch(`${base}/health`);
    assert.equal(down.status, 503);
    const broken = (await down.json()) as { status: string; database: { ok: boolean; error?: string } };
    assert.equal(broken.status, 'unavailable');
    assert.equal(broken.database.ok, false);
    const viaRpc = await rpc(base, '/system', { jsonrpc: '2.0', id: 1, method: 'system.health' });
    assert.equal((viaRpc.body as { result: { status: string } }).result.status, 'unhealthy');
  },
);
