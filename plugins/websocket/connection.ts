import type { WebSocket } from 'ws';
import { eventJson, type FastifyRequest, type PluginApp, type TaskEvent } from 'apflow';

/** Settings of the websocket plugin. */
export interface WebSocketSettings {
  max_buffered_bytes: number;
}

type Message = { action?: unknown; task_id?: unknown; last_seq?: unknown; jsonrpc?: unknown; method?: unknown };

/**
 * One `/ws` connection: `{"action": "subscribe" | "unsubscribe" | "ping", "task_id"}` messages,
 * and JSON-RPC requests of `/tasks` and `/system` answered with the same id. Events of subscribed
 * trees are pushed as they are persisted; a tree that already finished is replayed, ending with
 * its `final` event. A client that does not read is disconnected (it can resubscribe with
 * `last_seq`).
 */
export function handleConnection(app: PluginApp, socket: WebSocket, request: FastifyRequest, settings: WebSocketSettings): void {
  const subscriptions = new Map<string, () => void>();
  const principal = request.apflow?.principal;

  const send = (value: unknown) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > settings.max_buffered_bytes) {
      socket.close(1013, 'client too slow: reconnect and subscribe again with last_seq');
      return;
    }
    socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  };

  const subscribe = async (taskId: string, after: number) => {
    const task = await app.tasks.get(taskId);
    if (!task) return send({ type: 'error', task_id: taskId, error: `Task ${taskId} not found` });
    if (principal && task.user_id && principal.user_id !== task.user_id && !principal.roles.includes('admin')) {
      return send({ type: 'error', task_id: taskId, error: 'Permission denied: you can only watch your own tasks' });
    }
    const rootId = task.root_id;
    subscriptions.get(rootId)?.();
    let sent = after;
    let replaying = true;
    const waiting: TaskEvent[] = [];
    const deliver = (event: TaskEvent) => {
      if (event.seq <= sent) return;
      sent = event.seq;
      send(eventJson(event));
      if (event.type === 'final') {
        send({ type: 'stream_end', task_id: rootId });
        subscriptions.get(rootId)?.();
      }
    };
    // Listen first, then read the log: nothing falls between the two; duplicates are dropped by seq.
    const stop = app.engine.subscribe((event) => {
      if (event.root_task_id !== rootId) return;
      if (replaying) waiting.push(event);
      else deliver(event);
    });
    subscriptions.set(rootId, () => {
      stop();
      subscriptions.delete(rootId);
    });
    send({ type: 'subscribed', task_id: taskId, root_task_id: rootId });
    for (const event of await app.tasks.events(rootId, after)) deliver(event);
    replaying = false;
    for (const event of waiting.sort((a, b) => a.seq - b.seq)) deliver(event);
  };

  const onMessage = async (text: string) => {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return send({ type: 'error', error: 'message is not valid JSON' });
    }
    if (Array.isArray(message) || message?.jsonrpc !== undefined) {
      const method = (Array.isArray(message) ? (message[0] as Message | undefined)?.method : message.method) ?? '';
      const endpoint = typeof method === 'string' && app.rpc.has('/system', method) ? '/system' : '/tasks';
      const outcome = await app.rpc.dispatch(endpoint, message, { request: { ...request.apflow, transport: 'ws' }, principal, log: request.log });
      return send(outcome.body);
    }
    const taskId = typeof message?.task_id === 'string' ? message.task_id : undefined;
    switch (message?.action) {
      case 'ping':
        return send({ type: 'pong' });
      case 'subscribe': {
        if (!taskId) return send({ type: 'error', error: "subscribe needs a 'task_id'" });
        const after = message.last_seq === undefined ? 0 : Number(message.last_seq);
        if (!Number.isInteger(after) || after < 0) return send({ type: 'error', task_id: taskId, error: "'last_seq' must be a whole number" });
        return subscribe(taskId, after);
      }
      case 'unsubscribe': {
        if (!taskId) return send({ type: 'error', error: "unsubscribe needs a 'task_id'" });
        const task = await app.tasks.get(taskId);
        subscriptions.get(task?.root_id ?? taskId)?.();
        return send({ type: 'unsubscribed', task_id: taskId });
      }
      default:
        return send({ type: 'error', error: `unknown action '${String(message?.action)}' (use subscribe, unsubscribe, ping, or send a JSON-RPC request)` });
    }
  };

  socket.on('message', (data) => {
    onMessage(String(data)).catch((error: unknown) => {
      request.log.error({ err: error }, 'websocket message failed');
      send({ type: 'error', error: 'Internal error', request_id: request.id });
    });
  });
  socket.on('close', () => {
    for (const stop of [...subscriptions.values()]) stop();
  });
}
