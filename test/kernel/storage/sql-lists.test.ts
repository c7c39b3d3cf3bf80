/**
 * `sql.table` and `sql.among`: a batch's rows or ids are one parameter on both databases, so a
 * statement's text is the same at any count (kept prepared: SQLite's driver and PostgreSQL's
 * prepare a text once), and every value reads back as it went in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases, testStorage } from '../../databases.ts';

for (const db of testDatabases()) {
  test(`${db.name}: a table of rows and a list of ids are one parameter each, their values kept`, async (t) => {
    const { sql } = await testStorage(t, await db.create(t));
    await sql.run('CREATE TABLE lists (id TEXT PRIMARY KEY, n INTEGER, x DOUBLE PRECISION, flag BOOLEAN, doc TEXT)');
    const types = ['text', 'integer', 'double precision', 'boolean', 'text'] as const;
    const rows = [
      ['a', 1, 0.5, true, '{"k":[1,"two"]}'],
      ['b', -7, null, false, 'it\'s "quoted" ✓'],
      ['c', null, 1e-9, null, null],
    ];
    const insert = (batch: unknown[][]) => {
      const [from, params] = sql.table('v', [...types], batch);
      const values = types.map((type, i) => sql.valueOf(`v.column${i + 1}`, type === 'text' ? undefined : type));
      return [`INSERT INTO lists (id, n, x, flag, doc) SELECT ${values.join(', ')} FROM ${from}`, params] as const;
    };
    const [one, oneParams] = insert(rows.slice(0, 1));
    const [three, threeParams] = insert(rows);
    assert.equal(one, three, 'the same text for one row and for three');
    assert.equal(oneParams.length, threeParams.length);
    await sql.write((tx) => tx.run(three, [...threeParams]));

    const [among, amongParams] = sql.among('id', ['a', 'c', 'missing']);
    assert.equal(among, sql.among('id', ['b'])[0], 'the same text for one id and for three');
    const read = await sql.select<Record<string, unknown>>(
      `SELECT id, n, x, flag, doc FROM lists WHERE ${among} ORDER BY id`,
      amongParams,
    );
    const flag = (value: unknown) => (value === null ? null : value === true || Number(value) === 1);
    assert.deepEqual(
      read.map((row) => [row.id, row.n === null ? null : Number(row.n), row.x, flag(row.flag), row.doc]),
      [
        ['a', 1, 0.5, true, '{"k":[1,"two"]}'],
        ['c', null, 1e-9, null, null],
      ],
    );
    const [b] = await sql.select<Record<string, unknown>>("SELECT n, flag, doc FROM lists WHERE id = 'b'");
    assert.deepEqual([Number(b?.n), flag(b?.flag), b?.doc], [-7, false, 'it\'s "quoted" ✓']);
  });

  test(`${db.name}: any text in a table's column or a list reads back as it went in`, async (t) => {
    const { sql } = await testStorage(t, await db.create(t));
    const texts = [
      'a"b',
      'c\\d',
      '\\',
      '"',
      '',
      'NULL',
      '{x,y}',
      ' spaced ',
      'new\nline\ttab',
      'é ✓ 中',
      "it's",
      '\\"',
    ];
    const [from, params] = sql.table(
      'v',
      ['text', 'integer'],
      texts.map((text, i) => [text, i]),
    );
    const read = await sql.select<{ t: string; i: unknown }>(
      `SELECT v.column1 AS t, v.column2 AS i FROM ${from} ORDER BY v.column2`,
      params,
    );
    assert.deepEqual(
      read.map((row) => row.t),
      texts,
    );
    const [among, amongParams] = sql.among('v.column1', [...texts, null]);
    const found = await sql.select<{ t: string }>(`SELECT v.column1 AS t FROM ${from} WHERE ${among}`, [
      ...params,
      ...amongParams,
    ]);
    assert.equal(found.length, texts.length, 'every text found by the list');
  });
}

const sqlite = testDatabases().find((db) => db.name === 'sqlite');

test('sqlite: rows read back as objects named by their columns, whatever the names', async (t) => {
  const storage = await testStorage(t, await (sqlite as NonNullable<typeof sqlite>).create(t));
  const [row] = await storage.sql.select<Record<string, unknown>>(
    'SELECT 1 AS a, 2 AS "two words", 3 AS "quote""d", 4 AS a, 5 AS "__proto__", NULL AS n',
  );
  assert.deepEqual(Object.keys(row ?? {}), ['a', 'two words', 'quote"d', '__proto__', 'n']);
  assert.equal(row?.a, 4, 'a repeated name keeps its last value');
  assert.equal(Object.getPrototypeOf(row), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, 5);
  assert.deepEqual([row?.['two words'], row?.['quote"d'], row?.n], [2, 3, null]);
  const many = await storage.sql.select<{ n: number }>('SELECT value AS n FROM json_each(?)', ['[1,2,3]']);
  assert.deepEqual(many, [{ n: 1 }, { n: 2 }, { n: 3 }]);
});
