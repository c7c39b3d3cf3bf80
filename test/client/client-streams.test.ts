/**
 * Streams of `apflow/client` over a network that drops: execute streams, follow (SSE) and
 * subscribe (WebSocket) resume from the last event seen, without losing or repeating one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApflowConnectionError, createClient, type TaskEvent } from 'apflow/client';
import { clientServer } from './client-setup.ts';
import { cutProxy } from './cut-proxy.ts';

/** A tree whose three steps run one after another, so its events come over a second or so. */
const steps = (name: string) => [
  { id: `${name}-root`, name, schemas: { method: 'sleep' }, inputs: { ms: 50 } },
  ...[1, 2, 3].map((n) => ({
    id: `${name}-${n}`,
    name: `${name} step ${n}`,
    parent_id: `${name}-root`,
    schemas: { method: 'sleep' },
    inputs: { ms: 250 },
    ...(n > 1 ? { dependencies: [{ id: `${name}-${n - 1}`, required: true }] } : {}),
  })),
];

/** Asserts `events` are one run's whole stream: consecutive seqs from `after + 1`, ending with `final`. */
function assertWhole(events: TaskEvent[], after: number): void {
  assert.ok(events.length > 6, `only ${events.length} events`);
  assert.deepEqual(
    events.map((event) => event.seq),
    events.map((_, i) => after + 1 + i),
    'seqs are consecutive: nothing lost, nothing twice',
  );
  assert.equal(events.at(-1)?.type, 'final');
  assert.equal(events.filter((event) => event.type === 'final').length, 1);
}

describe('apflow/client streams', () => {
  test('execute(…, {stream: true}) survives a dropped connection: the rest of the run follows, in order', async (t) => {
    const { url, tokenFor } = await clientServer(t);
    const proxy = await cutProxy(t, url);
    const client = createClient({ baseUrl: proxy.url, token: await tokenFor('alice') });
    const stream = client.execute(steps('drop'), { stream: true });
    const events: TaskEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      if (events.length === 2) proxy.cutAll();
    }
    const started = await stream.started;
    assert.equal(started.root_task_id, 'drop-root');
    assertWhole(events, started.last_event_id ?? -1);
    assert.ok(proxy.requests() >= 2, 'it asked again');
    // The same run's events as the server's log holds them.
    const direct = createClient({ baseUrl: url, token: await tokenFor('alice') });
    const logged: TaskEvent[] = [];
    for await (const event of direct.follow('drop-root', { lastEventId: started.last_event_id })) logged.push(event);
    assert.deepEqual(events, logged);
  });

  test('follow(taskId, {lastEventId}) resumes a stream that was let go, with only the later events', async (t) => {
    const { alice } = await clientServer(t);
    const stream = alice.execute(steps('later'), { stream: true });
    const first: TaskEvent[] = [];
    for await (const event of stream) {
      first.push(event);
      if (first.length === 3) break;
    }
    const rest: TaskEvent[] = [];
    for await (const event of alice.follow('later-root', { lastEventId: first.at(-1)?.seq })) rest.push(event);
    assertWhole([...first, ...rest], ((await stream.started).last_event_id ?? 0) as number);
  });

  test('start() answers once the run began and lets it go on; follow from its last_event_id sees it all', async (t) => {
    const { alice } = await clientServer(t);
    const started = await alice.start(steps('started'));
    assert.equal(started.root_task_id, 'started-root');
    const now = await alice.tasks.get({ task_id: 'started-root' });
    assert.notEqual(now?.status, 'completed', 'it answered before the end of the run');
    const events: TaskEvent[] = [];
    for await (const event of alice.follow('started-root', { lastEventId: started.last_event_id })) events.push(event);
    assertWhole(events, (started.last_event_id ?? -1) as number);
    assert.equal((await alice.tasks.get({ task_id: 'started-root' }))?.status, 'completed');
  });

  test('subscribe() over the WebSocket reconnects after a drop and misses nothing', async (t) => {
    const { alice, url, tokenFor } = await clientServer(t);
    await alice.tasks.create({ tasks: steps('ws') });
    const proxy = await cutProxy(t, url);
    const client = createClient({ baseUrl: proxy.url, token: await tokenFor('alice') });
    const events: TaskEvent[] = [];
    const following = (async () => {
      for await (const event of client.subscribe('ws-root')) {
        events.push(event);
        if (events.length === 2) proxy.cutAll();
      }
    })();
    // Subscribed before the run begins: every event of it comes over the socket.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await alice.tasks.execute({ task_id: 'ws-root' });
    await following;
    assertWhole(events, 0);
    assert.ok(proxy.requests() >= 2, 'it asked again');
  });

  test('a keyed execute whose connection drops before the answer is sent again, and the server runs it once', async (t) => {
    const { url, alice, tokenFor } = await clientServer(t);
    const proxy = await cutProxy(t, url);
    const client = createClient({ baseUrl: proxy.url, token: await tokenFor('alice') });
    proxy.dropAfterRequest();
    const events: TaskEvent[] = [];
    const stream = client.execute(steps('keyed'), { stream: true, idempotencyKey: 'run-keyed-1' });
    for await (const event of stream) events.push(event);
    assertWhole(events, (await stream.started).last_event_id ?? -1);
    assert.equal((await alice.tasks.list()).filter((task) => task.name === 'keyed').length, 1);

    // Without a key nothing is sent twice: the drop is the caller's to handle.
    proxy.dropAfterRequest();
    const once = client.execute(steps('unkeyed'), { stream: true });
    await assert.rejects(async () => {
      for await (const event of once) void event;
    }, ApflowConnectionError);
    assert.equal((await alice.tasks.list()).filter((task) => task.name === 'unkeyed').length, 1);
  });
});
