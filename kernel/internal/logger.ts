import type { FastifyBaseLogger } from 'fastify';
import { destination, pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pinoPretty from 'pino-pretty';

/** The logger handed to plugins, executors and handlers (pino's API). */
export type Logger = FastifyBaseLogger;

/** Headers and fields that must never reach a log line. */
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-llm-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-llm-api-key"]',
  '*.password',
  '*.jwt_secret',
  '*.api_key',
];

/**
 * Creates the process logger (pino); Fastify logs through it too, each request's lines carrying
 * its `reqId`. JSON lines by default; readable lines (pino-pretty, in this thread) with
 * `format: 'pretty'`, or with `auto` when stdout is a terminal and NODE_ENV is not production.
 */
export function createLogger(options: { level: string; stream?: DestinationStream; format?: 'auto' | 'json' | 'pretty' }): PinoLogger {
  const format = options.format ?? 'auto';
  const pretty = !options.stream && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true && process.env.NODE_ENV !== 'production'));
  return pino(
    { level: options.level, base: { pid: process.pid }, redact: { paths: redactPaths, censor: '[redacted]' } },
    options.stream ?? (pretty ? pinoPretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : destination({ sync: false })),
  );
}

/** A database URL with its password replaced, fit for logs and /health. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}
