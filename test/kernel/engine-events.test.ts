import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { testDatabases } from '../databases.ts';
import { started, eventually } from '../helpers.ts';
import { engineApp, runTree } from './engine-setup.ts';

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('events: persisted before announced, seq grows by one per tree, a final event closes every run', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const seen: { event: TaskEvent; stored: Promise<string | undefined> }[] = [];
      app.engine.subscribe((event) =>
        seen.push({ event, stored: app.tasks.get(event.task_id).then((row) => row?.status) }),
      );
      const { events, outcome } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        { id: 's', name: 's', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ]);
      assert.deepEqual(
        events.map((event) => event.seq),
        events.map((_, i) => i + 1),
      );
      assert.deepEqual(
        events.map((event) => event.type),
        ['progress', 'task_start', 'progress', 'task_completed', 'task_start', 'task_completed', 'final'],
      );
      const halfway = events.find((event) => event.message === 'half way');
      assert.equal(halfway?.progress, 0.5);
      for (const { event, stored } of seen) {
        if (event.type === 'task_start')
          assert.notEqual(await stored, 'pending', 'a started task is stored in_progress (or later) when announced');
        if (event.type === 'task_completed') assert.equal(await stored, 'completed');
      }
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(
        await app.tasks.events(outcome.root_task_id),
        events,
        'the event log holds exactly what was announced',
      );
      assert.deepEqual(await app.tasks.events(outcome.root_task_id, 5), events.slice(5), 'and resumes after a seq');
      const final = events.at(-1) as TaskEvent;
      assert.equal(final.task_id, outcome.root_task_id);
      assert.deepEqual(
        Object.keys(final).sort(),
        ['counts', 'progress', 'result', 'root_task_id', 'seq', 'status', 'task_id', 'timestamp', 'type'].sort(),
      );
    });

    test("execute names its run's first event: following after it gives that run's events only, never an earlier run's", async (t) => {
      const app = await engineApp(t, await db.create(t));
      const tree = await app.engine.createTree([
        { id: 'fs-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'fs-a', name: 'a', parent_id: 'fs-root', schemas: { method: 'noop' } },
      ]);
      const first = started(await app.engine.execute(tree.id));
      await first.done;
      const second = started(await app.engine.execute(tree.id));
      assert.ok(second.first_seq > first.first_seq, `${second.first_seq} after ${first.first_seq}`);
      await second.done;
      const seen: TaskEvent[] = [];
      const following = app.engine.follow(tree.id, second.first_seq - 1, (event) => seen.push(event));
      await following.replayed;
      await eventually(() => seen.some((event) => event.type === 'final'), 10_000);
      following.stop();
      assert.equal(seen[0]?.seq, second.first_seq, "the first event followed is the run's first");
      assert.equal(seen.filter((event) => event.type === 'final').length, 1, "one final: this run's");
      const child = tree.children?.[0]?.id;
      assert.ok(
        seen.some((event) => event.type === 'task_completed' && event.task_id === child),
        "the run's own task events are there",
      );
      assert.ok(seen.every((event) => event.seq >= second.first_seq));
    });
  });
}
