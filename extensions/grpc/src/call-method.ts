import type { Client, Metadata, StatusObject } from '@grpc/grpc-js';
import type { FailedStatus } from './grpc-status.ts';
import type { ResponseReader } from './response-reader.ts';

/** One call to make: the method's path, the encoded request, metadata, deadline and the task's signal. */
export interface CallPlan {
  client: Client;
  path: string;
  request: Buffer;
  metadata: Metadata;
  deadline: Date;
  signal: AbortSignal;
  /** Decodes and counts each message (within `max_bytes`). */
  reader: ResponseReader;
}

/** How a call that succeeded ended. */
export interface CallOutcome {
  /** The response message (unary) or every message kept (server streaming), as JSON. */
  response: unknown;
  headers: Metadata | undefined;
  status: StatusObject;
  /** Server streaming: whether the stream was cut at `maxMessages` or `max_bytes`. */
  truncated?: boolean;
}

// Messages stay bytes in grpc-js: the reader decodes them once it has counted them.
const asIs = (bytes: Buffer) => bytes;

/**
 * A unary call. Resolves with the response once the status (and trailers) arrived; rejects with
 * the status (a grpc-js `ServiceError`), or the reader's error, otherwise. An abort of `signal`
 * cancels the call: the server sees the stream reset.
 */
export function callUnary(plan: CallPlan): Promise<CallOutcome> {
  const { client, signal, reader } = plan;
  return new Promise((resolve, reject) => {
    let headers: Metadata | undefined;
    let outcome: { error: unknown } | { response: unknown } | undefined;
    const call = client.makeUnaryRequest(
      plan.path,
      asIs,
      asIs,
      plan.request,
      plan.metadata,
      { deadline: plan.deadline },
      (error: FailedStatus | null, wire?: Buffer) => {
        if (error || !wire) return (outcome = { error });
        try {
          const response = reader.read(wire);
          outcome = response === undefined ? { error: reader.tooLarge() } : { response };
        } catch (caught) {
          outcome = { error: caught };
        }
      },
    );
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    call.on('metadata', (received) => (headers = received));
    // grpc-js calls the callback first, then emits the status with the trailers.
    call.on('status', (status) => {
      signal.removeEventListener('abort', onAbort);
      if (outcome && 'response' in outcome) resolve({ response: outcome.response, headers, status });
      else reject(outcome?.error ?? status);
    });
  });
}

/**
 * A server-streaming call: keeps the messages (at most `maxMessages`, and what the reader lets
 * through; then the stream is cancelled and the outcome marked truncated), reporting each
 * through `onMessage`.
 */
export function callServerStream(
  plan: CallPlan,
  maxMessages: number,
  onMessage: (count: number) => void,
): Promise<CallOutcome> {
  const { client, signal, reader } = plan;
  return new Promise((resolve, reject) => {
    let headers: Metadata | undefined;
    const messages: unknown[] = [];
    let truncated = false;
    let failure: unknown;
    const call = client.makeServerStreamRequest(plan.path, asIs, asIs, plan.request, plan.metadata, {
      deadline: plan.deadline,
    });
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const cut = () => {
      truncated = true;
      call.cancel();
    };
    call.on('metadata', (received: Metadata) => (headers = received));
    call.on('data', (wire: Buffer) => {
      if (truncated || failure) return;
      let message: unknown;
      try {
        message = reader.read(wire);
      } catch (error) {
        failure = error;
        return call.cancel();
      }
      if (message === undefined) return cut();
      messages.push(message);
      onMessage(messages.length);
      if (messages.length >= maxMessages) cut();
    });
    // The status carries the outcome; the error event repeats it for a failed stream.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => {
      signal.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else if (status.code === 0 || (truncated && !signal.aborted)) {
        resolve({ response: messages, headers, status, truncated });
      } else {
        reject(status);
      }
    });
  });
}
