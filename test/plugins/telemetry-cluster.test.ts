/**
 * A tree whose tasks run on two servers sharing one PostgreSQL database is still one trace with
 * the tree's shape: the span ids of tasks are derived from the run and task ids, so a task's span
 * made on one server is the parent of its children's made on the other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postgresAdminUrl, testDatabases } from '../databases.ts';
import { otlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
import { server } from './tasks-api-setup.ts';

const postgres = testDatabases().find((db) => db.name === 'postgres');
const taskOf = (span: ReceivedSpan) => span.attributes['apflow.task.id'];

test(
  'a tree run by two servers is one trace with the tree’s shape',
  { skip: !postgresAdminUrl && 'no PostgreSQL' },
  async (t) => {
    const receiver = await otlpReceiver(t);
    const url = await (postgres as NonNullable<typeof postgres>).create(t);
    const inline = {
      database: { url },
      engine: { concurrency: 1 },
      telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } },
    };
    const one = await server(t, { inline });
    await server(t, { inline });
    const children = Array.from({ length: 8 }, (_, i) => ({
      id: `c${i}`,
      name: `c${i}`,
      parent_id: 'top',
      schemas: { method: 'sleep' },
      inputs: { ms: 400 },
    }));
    await one.ok('tasks.create', [{ id: 'top', name: 'Top', schemas: { method: 'echo' } }, ...children]);
    assert.equal((await one.ok<{ status: string }>('tasks.execute', { task_id: 'top' })).status, 'completed');
    await one.app.service('telemetry')?.flush();

    const spans = await receiver.waitFor((received) => {
      const tasks = received.filter((span) => span.name === 'apflow.task');
      return tasks.length === 9 && received.some((span) => span.name === 'apflow.run') && received;
    });
    const calls = spans.filter((span) => span.name === 'apflow.executor');
    assert.equal(new Set(calls.map((span) => span.attributes['apflow.server.id'])).size, 2, 'both servers ran tasks');
    assert.equal(new Set(spans.map((span) => span.traceId)).size, 1, 'one trace');
    const tasks = spans.filter((span) => span.name === 'apflow.task');
    const top = tasks.find((span) => taskOf(span) === 'top');
    const run = spans.find((span) => span.name === 'apflow.run');
    assert.equal(top?.parentSpanId, run?.spanId);
    for (const child of tasks.filter((span) => span !== top)) assert.equal(child.parentSpanId, top?.spanId);
    for (const call of calls)
      assert.equal(call.parentSpanId, tasks.find((span) => taskOf(span) === taskOf(call))?.spanId);
    // The sleep executor's progress report is an event of its call's span.
    const slept = calls.find((span) => taskOf(span) === 'c0');
    assert.deepEqual(
      slept?.events.map((event) => [event.name, event.attributes.message]),
      [['progress', 'half way']],
    );
  },
);
