/**
 * A unix-socket proxy in front of the test Engine that holds back the Engine's answer to one kind
 * of call: the Engine really does the work at once, the executor hears of it only later. The
 * tests cancel or time out a run inside that gap.
 */
import { connect, createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** The proxy: its socket, and when the Engine answered a held call. */
export interface DelayProxy {
  socket: string;
  /** Resolves once the Engine has answered a call of the held kind (its answer still held). */
  answered: Promise<void>;
}

/** Starts a proxy to `engine` holding every answer to a request starting with `requestStart` (`POST /v1.41/containers/create`) for `ms`. */
export async function delayProxy(
  t: TestContext,
  engine: string,
  requestStart: string,
  ms: number,
): Promise<DelayProxy> {
  const dir = mkdtempSync('/tmp/apflow-proxy-');
  const socket = join(dir, 'p.sock');
  let markAnswered = () => {};
  const answered = new Promise<void>((resolve) => (markAnswered = resolve));
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(engine);
    open.add(client).add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    let held = false;
    client.on('data', (data: Buffer) => {
      // A connection may carry several calls (keep-alive): each starts with its request line.
      const text = data.toString('latin1', 0, 64);
      if (/^(GET|POST|DELETE|PUT|HEAD) \//.test(text)) held = text.startsWith(requestStart);
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!held) return void client.write(data);
      markAnswered();
      setTimeout(() => client.writable && client.write(data), ms);
    });
    upstream.on('end', () => setTimeout(() => client.end(), held ? ms : 0));
    // The executor closing its side is not passed on: the Engine finishes the call as if it had not noticed.
    client.on('close', () => setTimeout(() => upstream.destroy(), held ? ms : 0));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(async () => {
    for (const connection of open) connection.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, answered };
}
