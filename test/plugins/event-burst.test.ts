import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { createEventBurst } from 'apflow';
import { eventFrame, streamEndFrame } from '../../plugins/websocket/text-frame.ts';

const event = (seq: number, type: TaskEvent['type'] = 'progress'): TaskEvent => ({
  type,
  task_id: 't',
  root_task_id: 'r',
  status: 'in_progress',
  progress: seq / 10,
  timestamp: new Date(0).toISOString(),
  seq,
});
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a tick of events is one write per connection, the same bytes for every connection in step', async () => {
  const writes: Buffer[][] = [[], []];
  const bursts = writes.map((into) => createEventBurst(eventFrame, (bytes) => into.push(bytes)));
  const events = [event(1), event(2), event(3)];
  for (const each of events) for (const burst of bursts) burst.add(each);
  assert.deepEqual(writes, [[], []], 'nothing is written before the tick ends');
  await tick();
  assert.equal(writes[0]?.length, 1);
  assert.equal(writes[0]?.[0], writes[1]?.[0], 'one buffer shared by both connections');
  assert.deepEqual(writes[0]?.[0], Buffer.concat(events.map(eventFrame)), 'the frames, in seq order');
});

test('flush writes what is queued before a message that must follow it; a tail goes in the same write', async () => {
  const written: Buffer[] = [];
  const burst = createEventBurst(eventFrame, (bytes) => written.push(bytes));
  burst.add(event(1));
  burst.flush();
  assert.deepEqual(written, [eventFrame(event(1))]);
  const final = event(2, 'final');
  burst.add(final, streamEndFrame(final));
  await tick();
  assert.deepEqual(written[1], Buffer.concat([eventFrame(final), streamEndFrame(final)]));
  assert.match(String(written[1]), /"type":"stream_end","task_id":"r"/);
});

test('connections that got different events get their own bytes', async () => {
  const a: Buffer[] = [];
  const b: Buffer[] = [];
  const burstA = createEventBurst(eventFrame, (bytes) => a.push(bytes));
  const burstB = createEventBurst(eventFrame, (bytes) => b.push(bytes));
  const [e1, e2, e3] = [event(1), event(2), event(3)];
  for (const each of [e1, e2, e3]) burstA.add(each);
  for (const each of [e1, e3]) burstB.add(each);
  await tick();
  assert.deepEqual(a[0], Buffer.concat([e1, e2, e3].map(eventFrame)));
  assert.deepEqual(b[0], Buffer.concat([e1, e3].map(eventFrame)));
});

test("an event queued after a tail (another tree's, on the same connection) is written after it", async () => {
  const written: Buffer[] = [];
  const burst = createEventBurst(eventFrame, (bytes) => written.push(bytes));
  const final = event(5, 'final');
  const other = { ...event(1), root_task_id: 'other' };
  burst.add(final, streamEndFrame(final));
  burst.add(other);
  await tick();
  assert.deepEqual(
    Buffer.concat(written),
    Buffer.concat([eventFrame(final), streamEndFrame(final), eventFrame(other)]),
  );
});
