import type { Client, Metadata, StatusObject } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { FailedStatus } from './grpc-status.ts';

/** One call to make: the method, its request and metadata, the deadline and the task's signal. */
export interface CallPlan {
  client: Client;
  method: MethodDefinition<object, object>;
  request: object;
  metadata: Metadata;
  deadline: Date;
  signal: AbortSignal;
}

/** How a call that succeeded ended. */
export interface CallOutcome {
  /** The response message (unary) or every message received (server streaming), as JSON. */
  response: unknown;
  headers: Metadata | undefined;
  status: StatusObject;
  /** Server streaming: whether the stream was cut at `maxMessages`. */
  truncated?: boolean;
}

/**
 * A unary call. Resolves with the response once the status (and trailers) arrived; rejects with
 * the status (a grpc-js `ServiceError`) otherwise. An abort of `signal` cancels the call: the
 * server sees the stream reset.
 */
export function callUnary(plan: CallPlan): Promise<CallOutcome> {
  const { client, method, signal } = plan;
  return new Promise((resolve, reject) => {
    let headers: Metadata | undefined;
    let outcome: { error: FailedStatus } | { response: unknown } | undefined;
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      plan.request,
      plan.metadata,
      { deadline: plan.deadline },
      (error, response) => (outcome = error ? { error } : { response }),
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
 * A server-streaming call: collects the messages (at most `maxMessages`; then the stream is
 * cancelled and the outcome marked truncated), reporting each through `onMessage`.
 */
export function callServerStream(
  plan: CallPlan,
  maxMessages: number,
  onMessage: (count: number) => void,
): Promise<CallOutcome> {
  const { client, method, signal } = plan;
  return new Promise((resolve, reject) => {
    let headers: Metadata | undefined;
    const messages: unknown[] = [];
    let truncated = false;
    const call = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      plan.request,
      plan.metadata,
      { deadline: plan.deadline },
    );
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    call.on('metadata', (received: Metadata) => (headers = received));
    call.on('data', (message: unknown) => {
      if (truncated) return;
      messages.push(message);
      onMessage(messages.length);
      if (messages.length >= maxMessages) {
        truncated = true;
        call.cancel();
      }
    });
    // The status carries the outcome; the error event repeats it for a failed stream.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => {
      signal.removeEventListener('abort', onAbort);
      if (status.code === 0 || (truncated && !signal.aborted)) {
        resolve({ response: messages, headers, status, truncated });
      } else {
        reject(status);
      }
    });
  });
}
