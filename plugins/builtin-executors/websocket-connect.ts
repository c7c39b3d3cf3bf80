import type { LookupFunction } from 'node:net';
import { ApflowError, raceAbort, refusalDetail, type CheckedAddress, type Outbound } from 'apflow';
import WebSocket from 'ws';

/** How to open one checked WebSocket connection. */
export interface ConnectOptions {
  url: URL;
  headers: Record<string, string>;
  /** The largest single message accepted (ws `maxPayload`), in bytes. */
  maxPayload: number;
}

/**
 * Checks the URL's host with the outbound policy, then starts the connection to exactly the
 * addresses checked: the socket's lookup answers only those (so a DNS answer that changes
 * afterwards is never used), while the name stays in the URL for the Host header and TLS
 * `servername`. Redirects are not followed. Returns the socket still connecting, so that the
 * caller listens before the first message can arrive. Rejects with `signal`'s reason when it
 * aborts before the socket exists (a slow DNS answer does not hold the task past its timeout).
 */
export async function connectChecked(
  outbound: Outbound,
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<WebSocket> {
  const { url } = options;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
  let addresses: CheckedAddress[];
  try {
    addresses = await raceAbort(outbound.checkHost(host, port), signal);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const refused = refusalDetail(error);
    if (refused)
      throw new ApflowError('APF_FORBIDDEN', {
        message: `websocket_executor: ${refused.target} is refused: ${refused.reason}`,
      });
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `websocket_executor: cannot reach ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  // An abort while the name was checked: no socket is opened at all.
  signal.throwIfAborted();
  const ws = new WebSocket(url, {
    headers: options.headers,
    lookup: answerOnly(addresses),
    followRedirects: false,
    maxPayload: options.maxPayload,
  });
  // A socket dropped while connecting emits 'error'; with no listener that would crash the server.
  ws.on('error', () => undefined);
  return ws;
}

/** A lookup that answers only `addresses`, whatever DNS would say now. */
function answerOnly(addresses: readonly CheckedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const wanted = family ? addresses.filter((entry) => entry.family === family) : addresses;
    const answers = wanted.length ? wanted : addresses;
    if (options.all) {
      callback(
        null,
        answers.map((entry) => ({ ...entry })),
      );
      return;
    }
    // The policy never admits a host without an address.
    const [first] = answers as [CheckedAddress];
    callback(null, first.address, first.family);
  };
}
