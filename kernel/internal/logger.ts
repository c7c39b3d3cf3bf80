import type { FastifyBaseLogger } from 'fastify';
import { destination, pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

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

/** Creates the process logger (pino, JSON lines); Fastify logs through it too. */
export function createLogger(options: { level: string; stream?: DestinationStream }): PinoLogger {
  return pino(
    { level: options.level, base: { pid: process.pid }, redact: { paths: redactPaths, censor: '[redacted]' } },
    options.stream ?? destination({ sync: false }),
  );
}

/** A database URL with its password replaced, fit for logs and /health. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}
