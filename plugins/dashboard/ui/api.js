// How the dashboard talks to its server: JSON-RPC on POST /tasks, login, and one WebSocket for
// live events that resumes where it left off after a dropped connection.

const TOKEN_KEY = 'apflow.token';

/** The bearer token of the logged-in user, if any. */
export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (value) => (value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY)),
};

/**
 * An error as the server worded it; `status` 401 means a login is needed; `code` is the JSON-RPC
 * error code when there is one (-32601: no such method, e.g. its plugin is disabled).
 */
export class ServerError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const headers = () => {
  const out = { 'content-type': 'application/json' };
  const bearer = token.get();
  if (bearer) out.authorization = `Bearer ${bearer}`;
  return out;
};

let ids = 0;
/** Calls a JSON-RPC method of /tasks; resolves with its result, rejects with the server's message. */
export async function rpc(method, params, options = {}) {
  const response = await fetch('tasks', {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ jsonrpc: '2.0', id: ++ids, method, params }),
    signal: options.signal,
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) throw new ServerError(body?.error?.message ?? 'Log in first', 401);
  if (!body) throw new ServerError(`HTTP ${response.status}`, response.status);
  if (body.error) throw new ServerError(body.error.message, response.status, body.error.code);
  return body.result;
}

/**
 * Starts a run of the tree of `taskId` and resolves, as soon as the server has started it, with
 * its answer: `root_task_id` names the tree that runs. With authentication on, a user running a
 * tree that belongs to nobody (an example) runs their own copy of it, so that may be another tree
 * than the one asked for (`original_task_id` is then the one asked for). The answer comes as the
 * first frame of a `use_streaming` stream, which is then let go (the run goes on; its events come
 * over the WebSocket). A tree already running answers `{success: false, status, message}`.
 * Without the server's sse plugin it waits for the plain answer at the end of the run.
 */
export async function startRun(taskId) {
  const controller = new AbortController();
  const call = (params, signal) =>
    fetch('tasks', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ jsonrpc: '2.0', id: ++ids, method: 'tasks.execute', params }),
      signal,
    });
  const response = await call({ task_id: taskId, use_streaming: true }, controller.signal);
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    while (!buffer.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
    }
    controller.abort();
    const frame = buffer
      .split('\n\n')[0]
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6))
      .join('\n');
    const envelope = JSON.parse(frame);
    if (envelope.error) throw new ServerError(envelope.error.message, response.status);
    return envelope.result;
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) throw new ServerError(body?.error?.message ?? 'Log in first', 401);
  if (!body) throw new ServerError(`HTTP ${response.status}`, response.status);
  if (body.error && /sse plugin/.test(body.error.message)) return rpc('tasks.execute', { task_id: taskId });
  if (body.error) throw new ServerError(body.error.message, response.status);
  return body.result;
}

/** Logs in; resolves once the token is stored. */
export async function login(username, password) {
  const response = await fetch('auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  // A refused login is worded for the form, not a request to log in again.
  if (!response.ok) throw new Error(body?.error?.message ?? body?.message ?? `HTTP ${response.status}`);
  token.set(body.access_token);
}

/**
 * Follows one tree's events over /ws: `onEvent` for each, in order; after a dropped connection it
 * reconnects (backing off up to 5 s) and subscribes again after the last seq it saw. `onLive`
 * hears whether the stream is up. Returns a function that stops following.
 */
export function follow(rootId, onEvent, onLive) {
  let lastSeq = 0;
  let socket;
  let stopped = false;
  let delay = 250;
  const open = () => {
    const url = new URL('ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
      // The token goes in a first message, never in the URL (request logs keep URLs).
      const bearer = token.get();
      if (bearer) socket.send(JSON.stringify({ action: 'auth', token: bearer }));
      socket.send(JSON.stringify({ action: 'subscribe', task_id: rootId, last_seq: lastSeq }));
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === 'subscribed') {
        delay = 250;
        onLive(true);
      } else if (typeof data.seq === 'number' && data.root_task_id === rootId) {
        if (data.seq <= lastSeq) return;
        lastSeq = data.seq;
        onEvent(data);
      }
    };
    socket.onclose = () => {
      onLive(false);
      if (stopped) return;
      setTimeout(() => !stopped && open(), delay);
      delay = Math.min(5000, delay * 2);
    };
  };
  open();
  return () => {
    stopped = true;
    socket?.close();
  };
}
