import type { IncomingHttpHeaders } from 'node:http';
import { ApflowError } from '../errors/apflow-error.ts';

/** Methods that never carry a write: a browser may send them cross-site, but they change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether an HTTP method changes nothing (GET, HEAD, OPTIONS), so a page of another site gains
 * nothing by sending it: the one list behind the JSON-body rule and the cookie cross-site rule.
 */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** `application/json` or a structured-syntax `+json` type (RFC 6839), matched on its essence. */
const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

/** The longest Content-Type quoted back in an error message. */
const QUOTE_LIMIT = 100;

/** Whether a request announces a body (RFC 9112 §6: `Transfer-Encoding`, or a non-zero `Content-Length`). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}

/** Whether a `Content-Type` value is JSON (`application/json`, `application/*+json`; parameters such as `charset` allowed). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const essence = value.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return JSON_TYPE.test(essence);
}

/**
 * Refuses a write whose body is not declared as JSON. A browser sends `text/plain`, form
 * encodings, or no `Content-Type` at all to any origin without a CORS preflight ("simple
 * requests"), so a page the user visits could otherwise drive the server; a JSON content type
 * forces the preflight, which only `server.cors_origins` pass. Safe methods and writes without
 * a body are let through.
 *
 * @throws ApflowError `APF_UNSUPPORTED_MEDIA_TYPE` naming what was sent and what is expected.
 */
export function requireJsonBody(method: string, headers: IncomingHttpHeaders): void {
  if (isSafeMethod(method) || !hasBody(headers)) return;
  const sent = headers['content-type'];
  if (isJsonContentType(sent)) return;
  const what = sent === undefined || sent.trim() === '' ? 'no Content-Type' : `Content-Type '${quote(sent)}'`;
  throw new ApflowError('APF_UNSUPPORTED_MEDIA_TYPE', {
    message: `${method} bodies must be JSON: send Content-Type: application/json (got ${what}); other types are refused so that web pages on other sites cannot send requests here`,
  });
}

function quote(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > QUOTE_LIMIT ? `${printable.slice(0, QUOTE_LIMIT)}…` : printable;
}
