/**
 * PostgreSQL: what the other servers must hear of a turn (`pg_notify`) rides on the turn's insert
 * of its events, and so do its last task changes (the event counters): one round trip for all;
 * another server on the database hears every event live.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { testDatabases } from '../../databases.ts';
import { recordWrites, repoRoot, started, testApp } from '../../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const postgres = testDatabases().find((db) => db.name === 'postgres');

describe('PostgreSQL notifications of a turn', { skip: postgres ? false : 'no test PostgreSQL' }, () => {
  test("ride on the events' insert, and another server follows the run live from them", async (t) => {
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const settings = { database: { url }, executors: { dirs: [fixtures] } };
    const [runner, watcher] = [await testApp(t, settings), await testApp(t, settings)];
    const { statements } = recordWrites(runner.storage.sql);
    const tasks = [
      { id: 'heard', name: 'heard', schemas: { method: 'noop' } },
      ...Array.from({ length: 5 }, (_, i) => ({
        id: `heard-${i}`,
        name: `child ${i}`,
        parent_id: 'heard',
        schemas: { method: 'noop' },
      })),
    ];
    // The watcher follows the tree before it exists: it learns of every event from notifications.
    const heard: TaskEvent[] = [];
    const ended = new Promise<void>((resolve) => {
      const following = watcher.engine.follow('heard', 0, (event) => {
        heard.push(event);
        if (event.type === 'final') {
          following.stop();
          resolve();
        }
      });
    });
    const run = started(await runner.engine.execute({ tasks }));
    assert.equal((await run.done).status, 'completed');
    await ended;
    assert.deepEqual(
      heard.map((event) => event.seq),
      heard.map((_, i) => i + 1),
      'every event, in order',
    );
    assert.equal(
      statements.filter((text) => /^\s*SELECT pg_notify/.test(text)).length,
      0,
      'no statement of its own for the notifications',
    );
    assert.ok(
      statements.some(
        (text) => /^WITH .*written AS \(INSERT INTO apflow_event_batches/s.test(text) && text.includes('pg_notify'),
      ),
      statements.join('\n'),
    );
    // The last changes of a turn (its trees' event counters) are part of the same statement.
    assert.ok(
      statements.some((text) => /^WITH w1 AS \(UPDATE apflow_tasks SET .*written AS \(INSERT/s.test(text)),
      statements.join('\n'),
    );
    assert.equal(statements.filter((text) => /^UPDATE apflow_tasks SET event_seq/.test(text)).length, 0);
  });
});
