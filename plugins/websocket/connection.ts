import type { WebSocket } from 'ws';
import {
  createEventBurst,
  toWireError,
  type FastifyRequest,
  type PluginApp,
  type Principal,
  type RequestContext,
  isRecord,
} from 'apflow';
import { createSessionTimers } from './session-timers.ts';
import type { WebSocketSettings } from './settings.ts';
import { eventFrame, streamEndFrame } from './text-frame.ts';

type Message = {
  action?: unknown;
  task_id?: unknown;
  last_seq?: unknown;
  jsonrpc?: unknown;
  method?: unknown;
  id?: unknown;
  token?: unknown;
};

/**
 * One `/ws` connection: `{"action": "subscribe" | "unsubscribe" | "ping", "task_id"}` messages,
 * and JSON-RPC requests of `/tasks` and `/system` answered with the same id. Events of subscribed
 * trees are pushed as they are persisted; a tree that already finished is replayed, ending with
 * its `final` event. A client that does not read is disconnected (it can resubscribe with
 * `last_seq`).
 */
export function handleConnection(
  app: PluginApp,
  socket: WebSocket,
  request: FastifyRequest,
  settings: WebSocketSettings,
): void {
  const subscriptions = new Map<string, () => void>();
  /** A token the client sent in an `auth` message: it stands for the connection from then on. */
  let token: string | undefined;
  // With authentication on, the connection must authenticate in time; it ends when its token expires.
  const auth = app.config.auth.enabled;
  const timers = createSessionTimers(
    socket,
    auth ? settings.auth_timeout_s * 1000 : undefined,
    auth
      ? {
          everyMs: settings.recheck_s * 1000,
          check: () => app.enterMessage(request, 'ws.recheck', token ? { token } : {}),
        }
      : undefined,
  );
  timers.authenticated(request.apflow?.principal);

  const raw = request.raw.socket;
  /** False (and the connection closing) when the client is gone or does not read fast enough. */
  const writable = () => {
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > settings.max_buffered_bytes) {
      app.service('metrics')?.eventsDropped('websocket');
      socket.close(1013, 'client too slow: reconnect and subscribe again with last_seq');
      return false;
    }
    return true;
  };
  // Events go out as prepared frames (the same bytes for every subscriber) straight to the socket,
  // a tick's events in one write; ws writes its own frames synchronously to the same socket, so
  // what is queued goes first and the order holds.
  const events = createEventBurst(eventFrame, (bytes) => {
    if (writable()) raw.write(bytes);
  });
  const send = (value: unknown) => {
    events.flush();
    if (writable()) socket.send(JSON.stringify(value));
  };

  const subscribe = async (taskId: string, after: number, principal: Principal | undefined) => {
    const task = await app.tasks.visible(taskId, principal);
    if (!task) return send({ type: 'error', task_id: taskId, error: `Task ${taskId} not found` });
    const rootId = task.root_id;
    subscriptions.get(rootId)?.();
    send({ type: 'subscribed', task_id: taskId, root_task_id: rootId });
    const following = app.engine.follow(rootId, after, (event) => {
      if (event.type !== 'final') return events.add(event);
      // The end of the stream goes in the same write as the final event (one frame for all).
      events.add(event, streamEndFrame(event));
      subscriptions.get(rootId)?.();
    });
    subscriptions.set(rootId, () => {
      following.stop();
      subscriptions.delete(rootId);
    });
    await following.replayed;
  };

  /** A message that passed the hooks, ready to be answered. */
  interface Entered {
    /** The message as sent (a JSON-RPC body is dispatched as it is). */
    message: unknown;
    /** Its fields when it is an object (else none). */
    fields: Message;
    isRpc: boolean;
    rpcMethod: unknown;
    context: RequestContext;
  }

  /**
   * Parses a message and passes it through the request and auth hooks. Messages enter one at a
   * time, in order (an `auth` message counts for those after it); answering them may overlap.
   */
  const enter = async (text: string): Promise<Entered | undefined> => {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      send({ type: 'error', error: 'message is not valid JSON' });
      return undefined;
    }
    const fields: Message = isRecord(message) ? message : {};
    const first: unknown = Array.isArray(message) ? message[0] : undefined;
    const isRpc = Array.isArray(message) || fields.jsonrpc !== undefined;
    const rpcMethod = (Array.isArray(message) ? (isRecord(first) ? first.method : undefined) : fields.method) ?? '';
    const authMessage = !isRpc && fields.action === 'auth';
    const authToken = typeof fields.token === 'string' && fields.token !== '' ? fields.token : undefined;
    if (authMessage && authToken === undefined) {
      send({ type: 'error', error: "auth needs a 'token'" });
      return undefined;
    }
    try {
      const offered = authMessage ? authToken : token;
      const context = await app.enterMessage(
        request,
        isRpc ? String(rpcMethod) : `ws.${String(fields.action)}`,
        offered ? { token: offered } : {},
      );
      if (authMessage) {
        token = offered;
        timers.authenticated(context.principal);
      }
      return { message, fields, isRpc, rpcMethod, context };
    } catch (error) {
      const wire = toWireError(error, request.id).body;
      if (!isRpc) send({ type: 'error', code: wire.code, error: wire.message });
      else {
        const id = Array.isArray(message) ? null : fields.id;
        send({ jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: wire });
      }
      return undefined;
    }
  };

  const answer = async ({ message, fields, isRpc, rpcMethod, context }: Entered) => {
    if (isRpc) {
      const endpoint = typeof rpcMethod === 'string' && app.rpc.has('/system', rpcMethod) ? '/system' : '/tasks';
      const outcome = await app.rpc.dispatch(endpoint, message, {
        request: context,
        principal: context.principal,
        log: request.log,
      });
      return send(outcome.body);
    }
    const taskId = typeof fields.task_id === 'string' ? fields.task_id : undefined;
    switch (fields.action) {
      case 'ping':
        return send({ type: 'pong' });
      case 'auth':
        return send({ type: 'authenticated', user_id: context.principal?.user_id ?? null });
      case 'subscribe': {
        if (!taskId) return send({ type: 'error', error: "subscribe needs a 'task_id'" });
        const after = fields.last_seq === undefined ? 0 : Number(fields.last_seq);
        if (!Number.isInteger(after) || after < 0)
          return send({ type: 'error', task_id: taskId, error: "'last_seq' must be a whole number" });
        return subscribe(taskId, after, context.principal);
      }
      case 'unsubscribe': {
        if (!taskId) return send({ type: 'error', error: "unsubscribe needs a 'task_id'" });
        const task = await app.tasks.get(taskId);
        subscriptions.get(task?.root_id ?? taskId)?.();
        return send({ type: 'unsubscribed', task_id: taskId });
      }
      default:
        return send({
          type: 'error',
          error: `unknown action '${String(fields.action)}' (use subscribe, unsubscribe, ping, auth, or send a JSON-RPC request)`,
        });
    }
  };

  let entering: Promise<unknown> = Promise.resolve();
  socket.on('message', (data) => {
    const entered = entering.then(() => enter(String(data)));
    entering = entered.catch(() => undefined);
    entered
      .then((ready) => ready && answer(ready))
      .catch((error: unknown) => {
        request.log.error({ err: error }, 'websocket message failed');
        send({ type: 'error', error: 'Internal error', request_id: request.id });
      });
  });
  socket.on('close', () => {
    timers.stop();
    for (const stop of [...subscriptions.values()]) stop();
  });
}
