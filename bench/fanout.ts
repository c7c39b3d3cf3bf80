import { request, type ClientRequest } from 'node:http';
import type { App, TaskEvent } from 'apflow';
import WebSocket from 'ws';

/** What one client received: the seq of each event, and its delivery latency (ms). */
interface Received {
  seqs: number[];
  latencies: number[];
  ended: Promise<void>;
  close(): void;
}

/** The process's wall clock with sub-millisecond precision (the clock of event.timestamp). */
const now = () => performance.timeOrigin + performance.now();

function record(received: Pick<Received, 'seqs' | 'latencies'>, message: Record<string, unknown>): void {
  if (typeof message.seq !== 'number' || typeof message.timestamp !== 'string') return;
  received.latencies.push(now() - Date.parse(message.timestamp));
  received.seqs.push(message.seq);
}

/** A `/ws` client subscribed to `taskId`: resolves once the server acknowledged the subscription. */
async function wsClient(base: string, taskId: string): Promise<Received> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
  const seqs: number[] = [];
  const latencies: number[] = [];
  let subscribed!: () => void;
  let ended!: () => void;
  const acked = new Promise<void>((resolve) => (subscribed = resolve));
  const done = new Promise<void>((resolve) => (ended = resolve));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    if (message.type === 'subscribed') subscribed();
    else if (message.type === 'stream_end') ended();
    else record({ seqs, latencies }, message);
  });
  socket.on('close', () => ended());
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ action: 'subscribe', task_id: taskId }));
  await acked;
  return { seqs, latencies, ended: done, close: () => socket.close() };
}

/** An SSE client of `GET /tasks/{taskId}/events` (node:http): resolves once the response's headers came. */
async function sseClient(base: string, taskId: string): Promise<Received> {
  const seqs: number[] = [];
  const latencies: number[] = [];
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  let req!: ClientRequest;
  await new Promise<void>((resolve, reject) => {
    req = request(`${base}/tasks/${taskId}/events`, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE status ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of block.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const message = JSON.parse(line.slice(6)) as Record<string, unknown>;
            if (message.type === 'stream_end') ended();
            else record({ seqs, latencies }, message);
          }
        }
      });
      res.on('close', () => ended());
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
  return { seqs, latencies, ended: done, close: () => req.destroy() };
}

/** Opens `count` clients, `batch` at a time (so the listen backlog never overflows). */
async function open(count: number, batch: number, make: () => Promise<Received>, into: Received[]): Promise<void> {
  for (let i = 0; i < count; i += batch) into.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, make))));
}

export interface FanoutOptions {
  wsClients: number;
  sseClients: number;
  children: number;
  steps: number;
  stepMs: number;
}

/**
 * Subscribes `wsClients` WebSocket and `sseClients` SSE clients to one tree before it runs, runs
 * it, and checks every client got every event of the tree (the event log's seqs). Figures: the
 * delivery latency (receive time − event.timestamp) over all (client, event) pairs.
 */
export async function runFanout(app: App, options: FanoutOptions): Promise<Record<string, number>> {
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tree = await app.engine.createTree([
    { name: 'root', schemas: { method: 'bench_noop' } },
    ...Array.from({ length: options.children }, (_, i) => ({ name: `p${i}`, parent_id: 'root', schemas: { method: 'bench_progress' }, inputs: { steps: options.steps, ms: options.stepMs } })),
  ]);
  const clients: Received[] = [];
  try {
    const opening = performance.now();
    await open(options.wsClients, 100, () => wsClient(url, tree.id), clients);
    await open(options.sseClients, options.sseClients, () => sseClient(url, tree.id), clients);
    const openMs = performance.now() - opening;
    const start = performance.now();
    const outcome = await (await app.engine.execute(tree.id)).done;
    const runMs = performance.now() - start;
    if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 10_000, 'timeout').unref());
    await Promise.race([Promise.all(clients.map((client) => client.ended)), timeout]);
    const deliveredMs = performance.now() - start;

    const expected = (await app.tasks.events(tree.id)).map((event: TaskEvent) => event.seq);
    const want = expected.join(',');
    const missed = clients.filter((client) => client.seqs.join(',') !== want).length;
    const latencies = clients.flatMap((client) => client.latencies).sort((a, b) => a - b);
    const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? NaN) * 100) / 100;
    return {
      clients: clients.length,
      ws_clients: options.wsClients,
      sse_clients: options.sseClients,
      events: expected.length,
      deliveries: latencies.length,
      missed_clients: missed,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: at(1),
      open_ms: Math.round(openMs),
      run_ms: Math.round(runMs),
      delivered_ms: Math.round(deliveredMs),
    };
  } finally {
    for (const client of clients) client.close();
  }
}
