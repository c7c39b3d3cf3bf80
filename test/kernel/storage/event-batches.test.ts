// The event log as batches (kernel/storage/migrations/0010-event-batches.ts): a turn's events of a
// tree are one row; reading after any seq — inside a batch too — and in pages across batches gives
// exactly the events that follow; a log kept as one row per event (before 0010) is carried over;
// batches older than engine.event_retention_s are pruned. On SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { testDatabases } from '../../databases.ts';
import { started } from '../../helpers.ts';
import { engineApp } from '../engine-setup.ts';
import { createTaskEvents } from '../../../kernel/storage/migrations/0002-create-task-events.ts';

const start = (t: TestContext, url: string, engine: Record<string, unknown> = {}): Promise<App> =>
  engineApp(t, url, { concurrency: 8, ...engine });

/** Runs a root with `children` no-op children to its end; returns the root's id. */
async function runTree(app: App, id: string, children: number): Promise<string> {
  const tasks = [
    { id, name: 'root', schemas: { method: 'noop' } },
    ...Array.from({ length: children }, (_, i) => ({
      id: `${id}-${i}`,
      name: `c${i}`,
      parent_id: id,
      schemas: { method: 'noop' },
    })),
  ];
  const outcome = await started(await app.engine.execute({ tasks })).done;
  assert.equal(outcome.status, 'completed');
  return id;
}

const count = async (app: App, rootId: string) =>
  Number(
    (
      await app.storage.sql.select<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM apflow_event_batches WHERE root_task_id = ?',
        [rootId],
      )
    )[0]?.n,
  );

for (const db of testDatabases()) {
  test(`${db.name}: a turn's events of a tree are one row; reads after any seq, and in pages, give exactly what follows`, async (t) => {
    const app = await start(t, await db.create(t));
    const root = await runTree(app, 'batched', 60);
    const all = await app.tasks.events(root);
    assert.deepEqual(
      all.map((event) => event.seq),
      all.map((_, i) => i + 1),
      'every seq once, in order',
    );
    assert.equal(all.at(-1)?.type, 'final');
    const rows = await count(app, root);
    // 61 tasks, two events each and the run's own, in turns of at most 8 tasks.
    assert.ok(rows > 1 && rows * 4 < all.length, `${all.length} events in ${rows} rows`);
    for (let after = 0; after <= all.length; after++) {
      assert.deepEqual(await app.tasks.events(root, after), all.slice(after), `after ${after}`);
      assert.deepEqual(await app.tasks.events(root, after, 3), all.slice(after, after + 3), `3 after ${after}`);
    }
    assert.deepEqual(await app.tasks.events('no-such-tree'), []);
  });

  test(`${db.name}: an event log of one row per event (before migration 0010) is carried over, in order`, async (t) => {
    const url = await db.create(t);
    const first = await start(t, url);
    // Recent: the upgraded server's first sweep prunes what is older than the retention.
    const now = Date.now() - 1000;
    const event = (seq: number, type: string, task: string): TaskEvent =>
      ({
        type,
        task_id: task,
        root_task_id: 'old',
        status: seq === 3 ? 'completed' : 'in_progress',
        progress: seq === 3 ? 1 : 0,
        timestamp: new Date(now + seq).toISOString(),
        seq,
      }) as TaskEvent;
    const old = [event(1, 'task_start', 'old'), event(2, 'progress', 'old'), event(3, 'task_completed', 'old')];
    await first.storage.sql.write(async (runner) => {
      await runner.run('DROP TABLE apflow_event_batches');
      for (const statement of createTaskEvents.sql(first.storage.dialect)) await runner.run(statement);
      for (const e of old)
        await runner.run(
          `INSERT INTO apflow_task_events (root_task_id, seq, task_id, type, event, created_at) VALUES (?, ?, ?, ?, ${first.storage.sql.json}, ${first.storage.sql.time})`,
          [e.root_task_id, e.seq, e.task_id, e.type, JSON.stringify(e), e.timestamp],
        );
      await runner.run("DELETE FROM apflow_migrations WHERE name = '0010-event-batches'");
    });
    await first.close();

    const upgraded = await start(t, url);
    assert.deepEqual(await upgraded.tasks.events('old'), old);
    assert.deepEqual(await upgraded.tasks.events('old', 1, 1), old.slice(1, 2));
    await assert.rejects(
      upgraded.storage.sql.select('SELECT COUNT(*) FROM apflow_task_events'),
      'the old table is gone',
    );
    // Each event carried over is a batch of its own.
    assert.equal(await count(upgraded, 'old'), 3);
  });

  test(`${db.name}: batches older than engine.event_retention_s are pruned at the engine's sweep; newer ones stay`, async (t) => {
    const url = await db.create(t);
    const first = await start(t, url);
    const aged = await runTree(first, 'aged', 20);
    const fresh = await runTree(first, 'fresh', 20);
    const kept = await first.tasks.events(fresh);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await first.storage.sql.write((runner) =>
      runner.run(`UPDATE apflow_event_batches SET created_at = ${first.storage.sql.time} WHERE root_task_id = ?`, [
        twoDaysAgo,
        aged,
      ]),
    );
    await first.close();

    // A server's first sweep prunes (then every 10 minutes).
    const later = await start(t, url, { event_retention_s: 86_400 });
    for (let waited = 0; (await count(later, aged)) > 0 && waited < 10_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await later.tasks.events(aged), [], 'the aged tree has no events left');
    assert.deepEqual(await later.tasks.events(fresh), kept, 'the fresh one keeps all of its own');
  });
}
