import { ApflowError } from 'apflow';
import type { RawData } from 'ws';
import WebSocket from 'ws';
import { decodeMessage, matchesUntil, type Received, type UntilRule } from './websocket-messages.ts';

/** Why the collection ended. */
export type StopReason = 'sent' | 'response' | 'messages_until' | 'max_messages' | 'max_bytes' | 'server_closed';

/** What one exchange does. */
export interface SessionPlan {
  /** Shown in messages: origin and path, never the query (it may carry a token). */
  target: string;
  outgoing: readonly string[];
  wait: boolean;
  until: UntilRule | undefined;
  maxMessages: number;
  maxBytes: number;
  /** Called after each message kept, with the count so far. */
  onMessage(count: number): void;
}

/** How an exchange ended. */
export interface SessionOutcome {
  received: Received[];
  bytes: number;
  stop: StopReason;
  /** The close code, when the server closed. */
  closeCode?: number;
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

/**
 * Runs one exchange on a socket that is still connecting: waits for the handshake, sends
 * `outgoing` in order, then collects messages until the plan's stop rule, a limit, or the
 * server's close. Rejects on a failed handshake, a socket error, or when `signal` aborts (with
 * its reason). The socket is left to the caller to close.
 */
export function runSession(ws: WebSocket, plan: SessionPlan, signal: AbortSignal): Promise<SessionOutcome> {
  const received: Received[] = [];
  let bytes = 0;
  let settled = false;
  let opened = false;
  let answered: number | undefined;
  return new Promise<SessionOutcome>((resolve, reject) => {
    const stopWith = (stop: StopReason, closeCode?: number) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve({ received, bytes, stop, ...(closeCode === undefined ? {} : { closeCode }) });
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onAbort = () => fail(signal.reason);

    ws.on('unexpected-response', (_request, response) => {
      answered = response.statusCode ?? 0;
      ws.terminate();
    });
    // Stays attached after the outcome: an 'error' without a listener would crash the process.
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return stopWith('max_bytes');
      fail(describeError(plan.target, error, opened, answered));
    });
    ws.on('close', (code) => (opened ? stopWith('server_closed', code) : undefined));
    ws.on('message', (data, isBinary) => {
      if (settled) return;
      const buffer = toBuffer(data);
      if (bytes + buffer.length > plan.maxBytes) return stopWith('max_bytes');
      bytes += buffer.length;
      const message = decodeMessage(buffer, isBinary);
      received.push(message);
      plan.onMessage(received.length);
      if (plan.until && matchesUntil(plan.until, message, received.length)) return stopWith('messages_until');
      if (received.length >= plan.maxMessages)
        stopWith(plan.until || plan.maxMessages > 1 ? 'max_messages' : 'response');
    });
    ws.on('open', () => {
      opened = true;
      sendAll(ws, plan.outgoing).then(
        () => (plan.wait ? undefined : stopWith('sent')),
        (error: unknown) => fail(describeError(plan.target, error, true, undefined)),
      );
    });
    // Checked once every listener is on: the caller then drops the socket, whose 'error' is heard.
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function sendAll(ws: WebSocket, outgoing: readonly string[]): Promise<void> {
  for (const message of outgoing) {
    await new Promise<void>((resolve, reject) => ws.send(message, (error) => (error ? reject(error) : resolve())));
  }
}

function describeError(target: string, error: unknown, opened: boolean, answered: number | undefined): ApflowError {
  const reason = error instanceof Error ? error.message : String(error);
  if (answered !== undefined) {
    const redirect = answered >= 300 && answered < 400;
    return new ApflowError(redirect ? 'APF_INVALID_PARAMS' : 'APF_UNAVAILABLE', {
      message: `websocket_executor: ${target} answered HTTP ${answered} instead of accepting the WebSocket${
        redirect ? ' (redirects are not followed: use the final URL)' : ''
      }`,
    });
  }
  const step = opened ? 'connection failed' : 'cannot connect';
  return new ApflowError('APF_UNAVAILABLE', { message: `websocket_executor: ${target}: ${step}: ${reason}` });
}

/**
 * Closes the socket politely (`code`), and drops it if the server has not finished the closing
 * handshake within a second; a socket still connecting is dropped at once.
 */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  if (ws.readyState !== WebSocket.OPEN) {
    ws.terminate();
    return;
  }
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), 1000).unref();
}
