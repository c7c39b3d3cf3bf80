import { get } from 'node:http';
import { connect } from 'node:net';
import { isRecord } from '../internal/is-record.ts';

/** The parts of a `/health` report the daemon commands show. */
export interface HealthAnswer {
  status: string;
  version: string;
  workers: { count: number; pid: number };
}

/** The URL this machine reaches a server on that listens on `host:port` (a wildcard address means loopback). */
export function localUrl(host: string, port: number): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  const bracketed = reach.includes(':') && !reach.startsWith('[') ? `[${reach}]` : reach;
  return `http://${bracketed}:${port}`;
}

/**
 * `GET url/health`, or null when nothing answers it as apflow does within `timeoutMs`. Its own
 * connection (no keep-alive agent): a kept socket would hold this short-lived command open.
 */
export function fetchHealth(url: string, timeoutMs = 2000): Promise<HealthAnswer | null> {
  return new Promise((resolve) => {
    const request = get(`${url}/health`, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 1_000_000) request.destroy(); // no health report is this large
      });
      response.on('end', () => resolve(parseHealth(body)));
      response.on('close', () => resolve(null)); // after 'end' this changes nothing: the first resolve wins
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

function parseHealth(body: string): HealthAnswer | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(value) || typeof value.status !== 'string' || !isRecord(value.workers)) return null;
  const { count, pid } = value.workers;
  if (typeof count !== 'number' || typeof pid !== 'number') return null;
  return { status: value.status, version: String(value.version ?? ''), workers: { count, pid } };
}

/** Whether something accepts TCP connections at `url` (its host and port) within a second. */
export function portAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port), timeout: 1000 });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
