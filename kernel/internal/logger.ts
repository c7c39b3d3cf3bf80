import type { FastifyBaseLogger } from 'fastify';
import { destination, pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { lazyRequire } from './lazy-require.ts';
import { logSerializers, REDACTED } from './log-redaction.ts';

const pinoPretty = lazyRequire<typeof PinoPretty>('pino-pretty');

/** The logger handed to plugins, executors and handlers (pino's API). */
export type Logger = FastifyBaseLogger;

/**
 * Headers and fields that must never reach a log line. The `req` serializer already leaves
 * headers out; these catch headers logged some other way.
 */
const redactPaths = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-llm-api-key"]',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["x-llm-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.jwt_secret',
  '*.api_key',
  '*.token',
  '*.access_token',
];

/**
 * Creates the process logger (pino); Fastify logs through it too, each request's lines carrying
 * its `reqId`. Every line goes through the redacting serializers (`log-redaction.ts`): URLs
 * lose credential query parameters, requests are logged without headers. JSON lines by default; readable lines (pino-pretty, in this thread) with
 * `format: 'pretty'`, or with `auto` when stdout is a terminal and NODE_ENV is not production.
 */
export function createLogger(options: {
  level: string;
  stream?: DestinationStream;
  format?: 'auto' | 'json' | 'pretty';
}): PinoLogger {
  const format = options.format ?? 'auto';
  const pretty =
    !options.stream &&
    (format === 'pretty' ||
      (format === 'auto' && process.stdout.isTTY === true && process.env.NODE_ENV !== 'production'));
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      serializers: logSerializers,
      redact: { paths: redactPaths, censor: REDACTED },
    },
    options.stream ??
      (pretty
        ? pinoPretty()({
            colorize: process.stdout.isTTY === true,
            translateTime: 'SYS:HH:MM:ss.l',
            ignore: 'pid,hostname',
          })
        : destination({ sync: false })),
  );
}

/** A database URL with its password replaced, fit for logs and /health. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}
