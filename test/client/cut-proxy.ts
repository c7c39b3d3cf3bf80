/** A TCP proxy in front of a server that a test can cut, or have answer 503, to act out a bad network. */
import { createServer, connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/** The proxy's address and its levers. */
export interface CutProxy {
  url: string;
  /** HTTP requests (and WebSocket upgrades) seen so far, refused ones included. */
  requests: () => number;
  /** When each of those came (Date.now()). */
  times: () => number[];
  /** Drops every open connection at once (both ends), as a network failure would. */
  cutAll: () => void;
  /** The next `n` requests get `HTTP 503` and their connection closed, without reaching the server. */
  refuseNext: (n: number) => void;
  /** The next POST reaches the server, then its connection is dropped before any answer. */
  dropAfterRequest: () => void;
}

const REQUEST_LINE = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) /;

/** Starts a proxy to `target` (`http://127.0.0.1:port`), closed when the test ends. */
export async function cutProxy(t: TestContext, target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let requests = 0;
  const times: number[] = [];
  let refuse = 0;
  let dropNext = false;
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    let drop = false;
    open.add(client).add(upstream);
    const forget = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    // Levers act per request, not per connection: a client may keep one connection alive for many.
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (REQUEST_LINE.test(text)) {
        requests++;
        times.push(Date.now());
        if (refuse > 0) {
          refuse--;
          upstream.destroy();
          client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          return;
        }
        if (dropNext && text.startsWith('POST ')) {
          dropNext = false;
          drop = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => (drop ? forget() : client.write(chunk)));
    client.on('close', forget).on('error', forget);
    upstream.on('close', forget).on('error', forget);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of open) socket.destroy();
    server.close();
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    times: () => [...times],
    cutAll: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    refuseNext: (n) => void (refuse = n),
    dropAfterRequest: () => void (dropNext = true),
  };
}
