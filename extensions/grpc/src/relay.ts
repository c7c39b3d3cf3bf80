import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A per-call relay: the channel connects to `target`; the relay owns every socket of the call. */
export interface Relay {
  /** The grpc-js target of the relay (`unix:/…`). */
  target: string;
  /** The last error of a connection to the server (for messages: grpc-js only sees a closed relay). */
  lastError(): Error | undefined;
  /** Destroys every socket the relay opened or accepted, and removes the relay. */
  close(): void;
}

/**
 * Opens a relay on a unix socket in a private folder that pipes each connection to `address:port`
 * (the checked address). grpc-js closes an opening connection gracefully only, so a server that
 * accepts TCP and stays silent would keep its socket after the call; with the relay the executor
 * destroys both ends itself. TLS stays end-to-end: the channel speaks it through the relay.
 */
export async function openRelay(address: string, port: number): Promise<Relay> {
  const folder = mkdtempSync(join(tmpdir(), 'apflow-grpc-'));
  const path = join(folder, 'relay.sock');
  const sockets = new Set<Socket>();
  let failure: Error | undefined;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((inbound) => {
    track(inbound);
    const outbound = createConnection({ host: address, port });
    track(outbound);
    outbound.setNoDelay(true);
    const fail = (error?: Error) => {
      if (error) failure = error;
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', () => fail());
    outbound.on('error', fail);
    inbound.on('close', () => fail());
    outbound.on('close', () => fail());
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  return {
    target: `unix:${path}`,
    lastError: () => failure,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const socket of sockets) socket.destroy();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
