// How the dashboard talks to its server: JSON-RPC on POST /tasks through apflow/client, login,
// and one WebSocket for live events that resumes where it left off after a dropped connection.
import { createClient } from './ui?asset=client.js';

const TOKEN_KEY = 'apflow.token';

/** The bearer token of the logged-in user, if any. */
export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (value) => (value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY)),
};

/**
 * The server's errors are apflow/client's: `status` 401 means a login is needed; `code` is the
 * JSON-RPC error code when there is one (-32601: no such method, e.g. its plugin is disabled).
 */
export { ApflowClientError as ServerError } from './ui?asset=client.js';

// The page's own address names the server: its API is beside /ui (also behind a path prefix).
const client = createClient({ baseUrl: new URL('.', location.href), token: () => token.get() ?? undefined });

/** Calls a JSON-RPC method of /tasks; resolves with its result, rejects with the server's error. */
export const rpc = (method, params, options = {}) => client.call(method, params, options);

/**
 * Starts a run of the tree of `taskId` and resolves, as soon as the server has started it, with
 * its answer: `root_task_id` names the tree that runs. With authentication on, a user running a
 * tree that belongs to nobody (an example) runs their own copy of it, so that may be another tree
 * than the one asked for (`original_task_id` is then the one asked for). The stream is then let
 * go (the run goes on; its events come over the WebSocket). A tree already running answers
 * `{success: false, status, message}`. Without the server's sse plugin it waits for the plain
 * answer at the end of the run.
 */
export async function startRun(taskId) {
  try {
    return await client.start(taskId);
  } catch (error) {
    if (error.code === -32005 && error.data) return error.data;
    if (/sse plugin/.test(error.message)) return rpc('tasks.execute', { task_id: taskId });
    throw error;
  }
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
