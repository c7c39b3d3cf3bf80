import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { createCareless, NEW_PASSWORD, PASSWORD, runToEnd, start, TOKEN } from './secret-inputs-setup.ts';

/** Every file of the SQLite database (main, WAL, shared memory) as one text. */
const databaseText = (url: string) => {
  const path = url.slice('sqlite:'.length);
  return readdirSync(dirname(path))
    .filter((name) => name.startsWith('apflow.sqlite') && !name.endsWith('.key'))
    .map((name) => readFileSync(join(dirname(path), name)).toString('latin1'))
    .join('\n');
};

describe('secret inputs', () => {
  test('are stored sealed, given plain to the executor, and kept out of results, events, the database and the log', async (t) => {
    const url = await testDatabases()[0]!.create(t);
    const first = await start(t, url);
    const created = await createCareless(first.call);
    const inputs = created.inputs as { password: string; auth: { token: string }; note: string };
    assert.match(inputs.password, /^apflow-sealed:v1:/);
    assert.match(inputs.auth.token, /^apflow-sealed:v1:/);
    assert.equal(inputs.note, 'plain words');

    const done = await runToEnd(first.call, created.id as string);
    assert.equal(done.status, 'completed', String(done.error));
    assert.deepEqual(done.result, { echoed: 'pw=*** token=***', length: PASSWORD.length });

    // An update and a copy keep them sealed; the copy runs with them.
    await first.call('tasks.update', {
      task_id: created.id,
      inputs: { password: NEW_PASSWORD, auth: { token: TOKEN } },
    });
    const updated = await first.call('tasks.get', { task_id: created.id });
    assert.match((updated.inputs as { password: string }).password, /^apflow-sealed:v1:/);
    const copy = await first.call('tasks.copy', { task_id: created.id });
    await first.app.close();

    // The key is kept beside the database (owner-only), so the secrets survive a restart.
    const keyFile = `${url.slice('sqlite:'.length)}-secrets.key`;
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const second = await start(t, url);
    const rerun = await runToEnd(second.call, copy.id as string);
    assert.equal(rerun.status, 'completed', String(rerun.error));
    assert.deepEqual(rerun.result, { echoed: 'pw=*** token=***', length: NEW_PASSWORD.length });
    await second.app.close();

    const stored = databaseText(url);
    const logged = first.log.text() + second.log.text();
    assert.ok(stored.includes('logging in with ***'), 'the progress message is stored scrubbed');
    for (const secret of [
      PASSWORD,
      TOKEN,
      NEW_PASSWORD,
      JSON.stringify(NEW_PASSWORD).slice(1, -1),
      'another \"secret',
    ]) {
      assert.ok(!stored.includes(secret), `the database holds ${secret}`);
      assert.ok(!logged.includes(secret), `the log holds ${secret}`);
    }
  });

  test(
    'on PostgreSQL without secrets.key or auth.jwt_secret they live in one process (a restart fails the run with a clear error); with either they survive',
    { skip: !postgresAdminUrl && 'APFLOW_TEST_POSTGRES_URL is not set' },
    async (t) => {
      const postgres = testDatabases().find((db) => db.name === 'postgres')!;
      const url = await postgres.create(t);
      const first = await start(t, url);
      const lost = await createCareless(first.call);
      assert.match((lost.inputs as { password: string }).password, /^apflow-sealed:e1:/);
      await first.app.close();
      const second = await start(t, url);
      const failed = await runToEnd(second.call, lost.id as string);
      assert.equal(failed.status, 'failed');
      assert.match(
        String(failed.error),
        /cannot be opened: it was sealed by another server process, or before a restart, without a lasting key.*secrets\.key/,
      );
      await second.app.close();

      const key = { secrets: { key: 'k'.repeat(40) } };
      const third = await start(t, url, key);
      const kept = await createCareless(third.call);
      await third.app.close();
      const fourth = await start(t, url, key);
      const ran = await runToEnd(fourth.call, kept.id as string);
      assert.equal(ran.status, 'completed', String(ran.error));
      const other = await start(t, url, { secrets: { key: 'x'.repeat(40) } });
      const wrongKey = await runToEnd(other.call, kept.id as string);
      assert.equal(wrongKey.status, 'failed');
      assert.match(String(wrongKey.error), /sealed under another key than this server's secrets\.key/);
    },
  );
});
