/** The tests' own calls to the Docker Engine API (setup and checks), on its unix socket. */
import { request } from 'node:http';
import type { Readable } from 'node:stream';

/** An Engine answer: status and body text. */
export interface EngineAnswer {
  status: number;
  text: string;
}

/** What {@link engineCall} sends besides method and path. */
export interface EngineCallOptions {
  /** JSON, or a stream sent as it is (an image tarball). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Calls the Engine on `socket` and reads its whole answer. */
export function engineCall(
  socket: string,
  method: string,
  path: string,
  { body, contentType = 'application/json', headers = {} }: EngineCallOptions = {},
): Promise<EngineAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({
      socketPath: socket,
      method,
      path: `/v1.41${path}`,
      headers: { host: 'docker', ...headers },
    });
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.once('error', reject);
    });
    if (body === undefined) return void outgoing.end();
    outgoing.setHeader('content-type', contentType);
    if (isStream(body)) body.pipe(outgoing);
    else outgoing.end(JSON.stringify(body));
  });
}

function isStream(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && 'pipe' in value && typeof value.pipe === 'function';
}

/** The ids of every container (running or not) labelled with `label=value`. */
export async function containersLabelled(socket: string, label: string, value: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${label}=${value}`] }));
  const answer = await engineCall(socket, 'GET', `/containers/json?all=true&filters=${filters}`);
  if (answer.status !== 200) throw new Error(`listing containers: ${answer.status} ${answer.text}`);
  return (JSON.parse(answer.text) as { Id: string }[]).map((container) => container.Id);
}

/** The Engine's inspection of a container, or undefined once it is gone (404). */
export async function inspectContainer(socket: string, id: string): Promise<Record<string, unknown> | undefined> {
  const answer = await engineCall(socket, 'GET', `/containers/${id}/json`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`inspecting ${id}: ${answer.status} ${answer.text}`);
  return JSON.parse(answer.text) as Record<string, unknown>;
}
