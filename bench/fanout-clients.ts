// The subscribers of the `fanout` workload, in a process of their own (forked by fanout.ts) so
// that parsing 1,200 clients' frames does not share the server's event loop, as in real use.
// Protocol (IPC): argv[2] = JSON {processIndex, rounds: [{url, taskId, wsClients, sseClients}]}; for each round
// it sends {ready, open_ms} once every client is subscribed and {ended} once every stream ended,
// then, told 'report', {cpu_ms, seqs, latencies}, and closes that round's clients.
import { request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';

/** What one client received: each event's seq, receive time and `timestamp` (parsed later). */
interface Received {
  seqs: number[];
  receivedAt: number[];
  timestamps: string[];
  ended: Promise<void>;
  close(): void;
}

type Log = Pick<Received, 'seqs' | 'receivedAt' | 'timestamps'>;

/** The wall clock with sub-millisecond precision (event.timestamp is the server's wall clock). */
const now = () => performance.timeOrigin + performance.now();

/**
 * Records an event message: its seq, the time, and its timestamp text, found by their keys
 * rather than a full JSON.parse (and the timestamp parsed only after the round): 1,200 clients
 * share this process, and their work is not the server's cost.
 */
function record(log: Log, message: Buffer | string): boolean {
  const seqAt = message.indexOf('"seq":');
  const timeAt = message.indexOf('"timestamp":"');
  if (seqAt < 0 || timeAt < 0) return false;
  log.receivedAt.push(now());
  let seq = 0;
  for (let i = seqAt + 6; ; i++) {
    const digit = typeof message === 'string' ? message.charCodeAt(i) - 48 : (message[i] as number) - 48;
    if (!(digit >= 0 && digit <= 9)) break;
    seq = seq * 10 + digit;
  }
  log.seqs.push(seq);
  log.timestamps.push(
    typeof message === 'string'
      ? message.slice(timeAt + 13, timeAt + 37)
      : message.toString('latin1', timeAt + 13, timeAt + 37),
  );
  return true;
}

/** Delivery latencies (ms) of what a client received. */
const latencies = (log: Log) => log.receivedAt.map((at, i) => at - Date.parse(log.timestamps[i] as string));

/** The `type` of a control message (subscribed, stream_end). */
const controlType = (message: Buffer | string) => (JSON.parse(String(message)) as { type?: string }).type;

const settings = JSON.parse(process.argv[2] as string) as { rounds: Round[]; processIndex: number };
const processIndex = settings.processIndex;
let opened = 0;
/**
 * The loopback address the next client connects from: 50 clients each of 127.0.0.2, .3, …, as
 * from many machines (the websocket plugin admits 64 connections per address by default).
 */
const nextAddress = () => {
  const group = Math.floor(opened++ / 50);
  return `127.${1 + processIndex}.${Math.floor(group / 250)}.${2 + (group % 250)}`;
};

/** A `/ws` client subscribed to `taskId`: resolves once the server acknowledged the subscription. */
async function wsClient(base: string, taskId: string): Promise<Received> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`, {
    skipUTF8Validation: true,
    localAddress: nextAddress(),
  });
  const received: Log = { seqs: [], receivedAt: [], timestamps: [] };
  let subscribed!: () => void;
  let ended!: () => void;
  const acked = new Promise<void>((resolve) => (subscribed = resolve));
  const done = new Promise<void>((resolve) => (ended = resolve));
  socket.on('message', (data: Buffer) => {
    if (record(received, data)) return;
    const type = controlType(data);
    if (type === 'subscribed') subscribed();
    else if (type === 'stream_end') ended();
  });
  socket.on('close', () => ended());
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ action: 'subscribe', task_id: taskId }));
  await acked;
  return { ...received, ended: done, close: () => socket.close() };
}

/** An SSE client of `GET /tasks/{taskId}/events` (node:http): resolves once the response's headers came. */
async function sseClient(base: string, taskId: string): Promise<Received> {
  const received: Log = { seqs: [], receivedAt: [], timestamps: [] };
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  let req!: ClientRequest;
  await new Promise<void>((resolve, reject) => {
    req = request(`${base}/tasks/${taskId}/events`, { agent: false, localAddress: nextAddress() }, (res) => {
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
            const text = line.slice(6);
            if (!record(received, text) && controlType(text) === 'stream_end') ended();
          }
        }
      });
      res.on('close', () => ended());
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
  return { ...received, ended: done, close: () => req.destroy() };
}

/** Opens `count` clients, `batch` at a time (so the listen backlog never overflows). */
async function open(count: number, batch: number, make: () => Promise<Received>, into: Received[]): Promise<void> {
  for (let i = 0; i < count; i += batch)
    into.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, make))));
}

/** One round: clients subscribed to a tree, held until the tree's streams end. */
interface Round {
  /** The server of this round (apflow's, or the bare broadcaster's). */
  url: string;
  taskId: string;
  wsClients: number;
  sseClients: number;
}

const { rounds } = settings;
const send = (message: unknown) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
let reportAsked: (() => void) | undefined;
process.on('message', () => reportAsked?.());

for (const round of rounds) {
  const clients: Received[] = [];
  const opening = performance.now();
  await open(round.wsClients, 100, () => wsClient(round.url, round.taskId), clients);
  await open(round.sseClients, round.sseClients, () => sseClient(round.url, round.taskId), clients);
  await send({ ready: true, open_ms: Math.round(performance.now() - opening) });
  const asked = new Promise<void>((resolve) => (reportAsked = resolve));
  const cpu0 = process.cpuUsage();
  await Promise.all(clients.map((client) => client.ended));
  const cpu = process.cpuUsage(cpu0);
  await send({ ended: true });
  // Report only when asked: all client processes have then finished receiving, so building and
  // sending one process's figures never delays another's receiving.
  await asked;
  await send({
    cpu_ms: (cpu.user + cpu.system) / 1000,
    seqs: clients.map((client) => client.seqs.join(',')),
    latencies: clients.flatMap(latencies),
  });
  for (const client of clients) client.close();
}
process.exit(0);
