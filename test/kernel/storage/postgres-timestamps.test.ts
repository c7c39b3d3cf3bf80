/**
 * PostgreSQL's timestamps come back as the ISO-8601 UTC text apflow writes (and SQLite returns),
 * whatever the session's time zone: never a Date, never another offset.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { isoTimestamp } from '../../../kernel/storage/postgres-types.ts';
import { testDatabases, testStorage } from '../../databases.ts';

const postgres = testDatabases().find((db) => db.name === 'postgres');

test('PostgreSQL timestamp text as ISO-8601 UTC to the millisecond, as a Date would hold it', () => {
  const cases: [string, string][] = [
    ['2026-12-04 19:20:37+00', '2026-12-04T19:20:37.000Z'],
    ['2026-12-04 19:20:37.1+00', '2026-12-04T19:20:37.100Z'],
    ['2026-12-04 19:20:37.123+00', '2026-12-04T19:20:37.123Z'],
    ['2026-12-04 19:20:37.123987+00', '2026-12-04T19:20:37.123Z'],
    ['2026-12-04 19:20:37.5+01', '2026-12-04T18:20:37.500Z'],
    ['2026-12-04 01:20:37+05:30', '2026-12-03T19:50:37.000Z'],
    ['2026-12-31 23:00:00.25-03', '2027-01-01T02:00:00.250Z'],
  ];
  for (const [text, iso] of cases) {
    assert.equal(isoTimestamp(text), iso, text);
    assert.equal(isoTimestamp(text), new Date(text).toISOString(), `${text}: what a Date makes of it`);
  }
  assert.equal(isoTimestamp('infinity'), 'infinity', 'what no Date can hold stays as written');
});

describe('timestamps read from PostgreSQL', { skip: postgres ? false : 'APFLOW_TEST_POSTGRES_URL is not set' }, () => {
  test('come back as ISO text in and out of transactions, in any session time zone', async (t) => {
    const storage = await testStorage(t, await (postgres as NonNullable<typeof postgres>).create(t));
    const written = '2026-12-04T19:20:37.123Z';
    const read = 'SELECT CAST(? AS timestamptz) AS at, CAST(NULL AS timestamptz) AS never';
    assert.deepEqual(await storage.sql.select(read, [written]), [{ at: written, never: null }]);
    for (const zone of ['UTC', 'Asia/Kolkata', 'America/Sao_Paulo']) {
      const rows = await storage.sql.write(async (tx) => {
        await tx.run(`SET LOCAL TimeZone = '${zone}'`);
        return tx.select(read, [written]);
      });
      assert.deepEqual(rows, [{ at: written, never: null }], zone);
    }
  });

  test("on a database whose DateStyle is not ISO (SQL, DMY): apflow's sessions read ISO all the same", async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const session = async (query: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(query)).rows[0] as Record<string, unknown>;
      } finally {
        await client.end();
      }
    };
    await session(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET DateStyle = 'SQL, DMY'`);
    // What any other new session on that database gets: day first, no ISO.
    const other = await session("SELECT CAST('2026-12-04T19:20:37.123Z' AS timestamptz)::text AS at");
    assert.match(String(other.at), /^04\/12\/2026/, 'the database writes dates its own way');
    const storage = await testStorage(t, url);
    const written = '2026-12-04T19:20:37.123Z';
    assert.deepEqual(await storage.sql.select('SELECT CAST(? AS timestamptz) AS at', [written]), [{ at: written }]);
    assert.deepEqual(await storage.sql.write((tx) => tx.select('SELECT CAST(? AS timestamptz) AS at', [written])), [
      { at: written },
    ]);
  });
});
