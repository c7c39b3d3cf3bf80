import { request, type IncomingMessage } from 'node:http';
import { ApflowError } from 'apflow';

/** The Engine API version asked for: 1.41 is Docker 20.10, which every later Engine still serves. */
export const API_VERSION = 'v1.41';

/** Longest error body read from the Engine (its errors are one short JSON line). */
const MAX_ERROR_BYTES = 64 * 1024;

/** One call to the Engine API. */
export interface EngineRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path below the version prefix, with its query string (`/containers/create?name=x`). */
  path: string;
  /** A JSON body. */
  json?: unknown;
  /** Aborts the call (the connection is closed, which the Engine takes as a cancel for pulls). */
  signal?: AbortSignal;
}

/** An HTTP error answer of the Engine: its status and its `message`. */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A client of the Docker Engine API on a unix socket, with no connection kept between calls (each
 * call is its own connection, so closing one is the cancel of that call alone).
 */
export class EngineApi {
  constructor(readonly socketPath: string) {}

  /** Sends a call and resolves with the open response (2xx only; other answers become {@link EngineError}). */
  async open(call: EngineRequest): Promise<IncomingMessage> {
    const body = call.json === undefined ? undefined : JSON.stringify(call.json);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = request({
        socketPath: this.socketPath,
        path: `/${API_VERSION}${call.path}`,
        method: call.method,
        headers: { host: 'docker', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        signal: call.signal,
      });
      outgoing.once('response', resolve);
      outgoing.once('error', reject);
      outgoing.end(body);
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const text = await readText(response, MAX_ERROR_BYTES);
    throw new EngineError(status, engineMessage(text) || `HTTP ${status}`);
  }

  /** Sends a call and parses its JSON answer (`undefined` for an empty one). */
  async json(call: EngineRequest): Promise<unknown> {
    const text = await readText(await this.open(call));
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  /** Sends a call and drops its answer. */
  async send(call: EngineRequest): Promise<void> {
    (await this.open(call)).resume();
  }
}

/** The body of `response` as text, at most `limit` bytes (the rest is dropped unread). */
export async function readText(response: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    const buffer = chunk as Buffer; // an IncomingMessage without an encoding yields Buffers
    chunks.push(buffer);
    size += buffer.length;
    if (size >= limit) {
      response.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

/** The Engine's `{"message": "..."}`, else the text itself. */
function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string')
      return parsed.message;
  } catch {
    // Not JSON: the text is the message.
  }
  return text.trim();
}

/**
 * The error a task gets when the Engine cannot be reached: names the socket and the settings
 * that choose it, never more (the socket path is the administrator's, not a secret).
 */
export function unreachable(socketPath: string, cause: unknown): ApflowError {
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  const why =
    code === 'ENOENT'
      ? 'no such socket'
      : code === 'EACCES'
        ? 'permission denied'
        : cause instanceof Error
          ? cause.message
          : String(cause);
  return new ApflowError('APF_UNAVAILABLE', {
    message: `docker_executor: cannot reach the Docker Engine at ${socketPath} (${why}); start the daemon or set docker.socket (or DOCKER_HOST=unix://…)`,
    cause,
  });
}
