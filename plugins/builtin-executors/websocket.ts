import { ApflowError, defineExecutor, Type } from 'apflow';
import type WebSocket from 'ws';
import { deadline, MAX_TIMEOUT_S } from './deadline.ts';
import { connectChecked } from './websocket-connect.ts';
import { outgoingMessages, UntilRule } from './websocket-messages.ts';
import { closeSocket, runSession, type SessionOutcome } from './websocket-session.ts';

const MiB = 1024 * 1024;
const DEFAULT_MAX_MESSAGES = 1000;
/** Progress is reported for the first messages, then for every 50th (a busy stream stays quiet). */
const progressDue = (count: number) => count <= 20 || count % 50 === 0;

/**
 * `websocket_executor`: connects to a WebSocket server, sends a message (or several), and
 * collects the replies until a stop rule, a limit or the server's close. The host goes through
 * the outbound policy (`ctx.outbound.checkHost`) and the socket connects to the addresses it
 * checked; redirects are refused. Cancel and timeout close the socket.
 */
export const websocketExecutor = defineExecutor({
  id: 'websocket_executor',
  name: 'WebSocket exchange',
  description:
    'Connects to a WebSocket (url, headers), sends message/messages, and collects replies (wait_response, ' +
    'messages_until, max_messages, max_bytes, timeout)',
  inputSchema: Type.Object({
    url: Type.String({ pattern: '^wss?://', description: 'ws:// or wss:// URL' }),
    message: Type.Optional(Type.Unknown({ description: 'sent first: a string as is, any other value as JSON' })),
    messages: Type.Optional(Type.Array(Type.Unknown(), { description: 'sent in order after message' })),
    wait_response: Type.Optional(Type.Boolean({ default: true })),
    timeout: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: MAX_TIMEOUT_S,
        default: 30,
        description: 'seconds for the whole exchange, connecting included',
      }),
    ),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    messages_until: Type.Optional(UntilRule),
    max_messages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    max_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 * MiB, default: 10 * MiB })),
  }),
  secretInputs: ['headers'],
  async execute(inputs, ctx) {
    const url = new URL(inputs.url);
    // A fragment is never sent (ws refuses URLs with one).
    url.hash = '';
    // No query string in messages: tokens often travel there.
    const target = `${url.origin}${url.pathname}`;
    const timeoutS = inputs.timeout ?? 30;
    const timeout = deadline(timeoutS);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    const wait = inputs.wait_response ?? true;
    const until = inputs.messages_until;
    const maxMessages = inputs.max_messages ?? (until ? DEFAULT_MAX_MESSAGES : 1);
    const maxBytes = inputs.max_bytes ?? 10 * MiB;
    const limit = until && typeof until !== 'string' && 'count' in until ? until.count : maxMessages;
    let ws: WebSocket | undefined;
    let outcome: SessionOutcome | undefined;
    let count = 0;
    try {
      ws = await connectChecked(ctx.outbound, { url, headers: inputs.headers ?? {}, maxPayload: maxBytes }, signal);
      outcome = await runSession(
        ws,
        {
          target,
          outgoing: outgoingMessages(inputs.message, inputs.messages),
          wait,
          until,
          maxMessages,
          maxBytes,
          onMessage(received) {
            count = received;
            if (progressDue(received))
              ctx.progress(Math.min(received / limit, 0.99), `websocket_executor: received message ${received}`);
          },
        },
        signal,
      );
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (timeout.passed)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `websocket_executor: ${target} timed out after ${timeoutS}s (${
            ws ? `${count} message(s) received${until ? ', messages_until not met' : ''}` : 'while checking its host'
          })`,
        });
      throw error;
    } finally {
      timeout.clear();
      if (ws && outcome?.stop === 'server_closed') ws.terminate();
      else if (ws) closeSocket(ws, ctx.signal.aborted || timeout.passed ? 1001 : 1000, outcome ? 'done' : 'stopped');
    }
    const responses = outcome.received.map((message) => message.value);
    const stopped = ['sent', 'response', 'messages_until', 'max_messages'];
    return {
      success: stopped.includes(outcome.stop) && (!wait || responses.length > 0),
      url: target,
      response: responses.at(-1) ?? null,
      responses,
      messages_received: responses.length,
      bytes_received: outcome.bytes,
      stop_reason: outcome.stop,
      closed_by: outcome.stop === 'server_closed' ? 'server' : 'client',
      ...(outcome.closeCode === undefined ? {} : { close_code: outcome.closeCode }),
    };
  },
  demoResult: (inputs) => ({
    success: true,
    url: typeof inputs.url === 'string' ? inputs.url : 'wss://echo.example.com/',
    response: { demo: true, echo: inputs.message ?? 'hello', note: 'demo result: no connection was made' },
    responses: [{ demo: true, echo: inputs.message ?? 'hello', note: 'demo result: no connection was made' }],
    messages_received: 1,
    bytes_received: 64,
    stop_reason: 'response',
    closed_by: 'client',
  }),
});
