import { stdSerializers } from 'pino';

/**
 * Query parameter names that carry credentials: any name containing one of these words
 * (`token`, `access_token`, `refresh_token`, `api_key`, `apikey`, `x-api-key`, `client_secret`,
 * `password`, `jwt`, `auth`, `authorization`, `X-Amz-Signature`, `session_id`, …), any case.
 */
const SECRET_NAME = /token|key|secret|passw|pwd|jwt|auth|signature|credential|session|cookie/i;
/** Short names that are credentials by convention (OAuth `code`, presigned `sig`, `pass`). */
const SECRET_EXACT = new Set(['code', 'sig', 'pass', 'pw']);

/** One `name=value` pair of a query string, with the character before it (`?`, `&` or `;`). */
const QUERY_PAIR = /([?&;])([^=&#;?\s"'<>]+)=([^&#;\s"'<>]*)/g;
/** The password of a URL's userinfo (`scheme://user:password@host`). */
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@/\s]*@/gi;

export const REDACTED = '[redacted]';

/**
 * `text` with the values of credential-like query parameters and URL passwords replaced by
 * `[redacted]`: a URL (`/ws?token=…`), or any text that quotes one (an error message).
 */
export function redactUrlSecrets(text: string): string {
  if (!text.includes('=') && !text.includes('@')) return text;
  return text
    .replace(QUERY_PAIR, (pair, separator: string, name: string, value: string) =>
      value !== '' && isSecretName(name) ? `${separator}${name}=${REDACTED}` : pair,
    )
    .replace(USERINFO, `$1${REDACTED}@`);
}

function isSecretName(raw: string): boolean {
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {
    // A malformed escape: judge the name as written.
  }
  return SECRET_NAME.test(name) || SECRET_EXACT.has(name.toLowerCase());
}

/** What a request looks like in a log line (Fastify's request, or Node's `IncomingMessage`). */
interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/**
 * The log serializers every line goes through (pino `serializers`; Fastify keeps them, so its
 * request lines use them too): `req` as method, URL with credentials redacted, host and peer,
 * never headers (so no `Cookie` or `Authorization`); `url` redacted; `err` as pino's, its
 * message, stack and other text fields redacted (errors often quote the URL they failed on).
 */
export const logSerializers = {
  req(request: LoggedRequest) {
    const host = request.host ?? request.headers?.host;
    return {
      method: request.method,
      url: typeof request.url === 'string' ? redactUrlSecrets(request.url) : request.url,
      host: typeof host === 'string' ? redactUrlSecrets(host) : undefined,
      remoteAddress: request.ip ?? request.socket?.remoteAddress,
      remotePort: request.socket?.remotePort,
    };
  },
  url(value: unknown) {
    return typeof value === 'string' ? redactUrlSecrets(value) : value;
  },
  err(error: Error): unknown {
    // pino types the answer as a serialized error, but hands anything not error-like back as given.
    const serialized: unknown = stdSerializers.err(error);
    if (!isObject(serialized)) return serialized;
    for (const [field, text] of Object.entries(serialized)) {
      if (typeof text === 'string') serialized[field] = redactUrlSecrets(text);
    }
    return serialized;
  },
};

/** Any object, arrays included: their text fields are redacted alike. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
