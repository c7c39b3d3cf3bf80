// The `fanout` workload's reference: a bare broadcaster in a process of its own (forked by
// fanout.ts) — a plain `ws` WebSocketServer on `/ws` and a `node:http` Server-Sent Events
// endpoint on `/tasks/{id}/events`, no database, no hooks, no authentication, no slow-client
// checks — that sends the events it is given to every subscriber at the pacing it is given,
// each burst's frames prepared once and written to each socket in one write.
// Protocol (IPC): it sends {url} once listening; told {play, round, bursts}, it prepares the
// frames, sends {playing}, sends the bursts to the subscribers of `round` (a task id clients
// subscribed to), and told {stop}, answers {cpu_ms} (its CPU from `play` to `stop`).
import { writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo, Socket } from 'node:net';
import * as ws from 'ws';

/** Events to send together, `at` ms after the first event of the round was made. */
export interface BareBurst {
  at: number;
  /** Each event's JSON as apflow sent it, and its offset (ms) from the first event's timestamp. */
  events: { json: string; at: number }[];
}

/** What the parent tells the broadcaster. */
export type BareCommand = { play: true; round: string; bursts: BareBurst[] } | { stop: true };

interface Subscribers {
  ws: Socket[];
  sse: ServerResponse[];
}

const subscribers = new Map<string, Subscribers>();
const of = (round: string) => {
  let found = subscribers.get(round);
  if (!found) subscribers.set(round, (found = { ws: [], sse: [] }));
  return found;
};
const now = () => performance.timeOrigin + performance.now();
// ws's own framing (exported at run time, not in its types): a server frame is unmasked.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};
const wsFrame = (text: string) =>
  Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));

const server = createServer((req, res) => {
  const match = /^\/tasks\/([^/]+)\/events$/.exec(req.url ?? '');
  if (!match) return res.writeHead(404).end();
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  of(match[1] as string).sse.push(res);
});
const wss = new ws.WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket: Socket, head) => {
  if (req.url !== '/ws') return socket.destroy();
  socket.setNoDelay(true);
  wss.handleUpgrade(req, socket, head, (client) => {
    client.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { action?: string; task_id?: string };
      if (message.action !== 'subscribe' || !message.task_id) return;
      of(message.task_id).ws.push(socket);
      client.send(JSON.stringify({ type: 'subscribed', task_id: message.task_id, root_task_id: message.task_id }));
    });
  });
});

/** Each burst's frames for both protocols, the events' timestamps moved to `start` + their offset. */
function prepare(round: string, bursts: BareBurst[], start: number) {
  const end = { type: 'stream_end', task_id: round };
  return bursts.map((burst, i) => {
    const texts = burst.events.map((event) => {
      const at = event.json.indexOf('"timestamp":"') + 13;
      return event.json.slice(0, at) + new Date(start + event.at).toISOString() + event.json.slice(at + 24);
    });
    const ws = texts.map(wsFrame);
    const sse = texts.map((text) => `id: ${/"seq":(\d+)/.exec(text)?.[1]}\ndata: ${text}\n\n`);
    if (i === bursts.length - 1) {
      ws.push(wsFrame(JSON.stringify(end)));
      sse.push(`data: ${JSON.stringify(end)}\n\n`);
    }
    return {
      at: start + burst.at,
      ws: Buffer.concat(ws),
      sse: Buffer.from(sse.join('')),
      last: i === bursts.length - 1,
    };
  });
}

// With FANOUT_PROFILE=DIR, a CPU profile of each round, from `play` to `stop` (DIR/bare-ROUND.cpuprofile).
const profiling = process.env.FANOUT_PROFILE ? new Session() : undefined;
profiling?.connect();
let round = '';
let cpu0 = process.cpuUsage();
process.on('message', async (command: BareCommand) => {
  if ('stop' in command) {
    const cpu = process.cpuUsage(cpu0);
    if (profiling) {
      const { profile } = await profiling.post('Profiler.stop');
      writeFileSync(`${process.env.FANOUT_PROFILE}/bare-${round}.cpuprofile`, JSON.stringify(profile));
    }
    process.send?.({ cpu_ms: (cpu.user + cpu.system) / 1000 });
    return;
  }
  round = command.round;
  if (profiling) {
    await profiling.post('Profiler.enable');
    await profiling.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiling.post('Profiler.start');
  }
  cpu0 = process.cpuUsage();
  const to = of(command.round);
  subscribers.delete(command.round);
  // The first burst goes out 20 ms from now, the others at apflow's spacing after it.
  const frames = prepare(command.round, command.bursts, now() + 20);
  process.send?.({ playing: true });
  let next = 0;
  const sendDue = () => {
    while (next < frames.length && (frames[next]?.at as number) <= now() + 0.5) {
      const burst = frames[next++] as (typeof frames)[number];
      for (const socket of to.ws) socket.write(burst.ws);
      for (const res of to.sse) {
        res.write(burst.sse);
        if (burst.last) res.end();
      }
    }
    if (next < frames.length) setTimeout(sendDue, Math.max(0, (frames[next]?.at as number) - now()));
  };
  setTimeout(sendDue, 20);
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
