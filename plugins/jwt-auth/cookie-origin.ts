import { ApflowError, isSafeMethod, isTrustedOrigin, type RequestContext } from 'apflow';

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * The cross-site request rule for tokens read from a cookie (a browser attaches cookies to
 * requests any web page makes): every WebSocket message, and every HTTP request but GET, HEAD
 * and OPTIONS (so every JSON-RPC call), must come from a page of this server's own origin (the
 * `Origin` header, failing that `Referer`, naming the host of the `Host` header) or of one listed
 * in `server.cors_origins` (`*` does not count). Requests with `Authorization: Bearer` are not
 * concerned: a page of another site cannot set that header without the token.
 */
export function createCookieOriginRule(corsOrigins: readonly string[] | undefined) {
  const listed = corsOrigins ?? [];
  const allowed = (request: RequestContext) => {
    const source = single(request.headers.origin) ?? single(request.headers.referer);
    return source !== undefined && isTrustedOrigin(source, single(request.headers.host), listed, { wildcard: false });
  };

  /** Throws 403 when `request`, authenticated by a cookie, may have been sent by another site's page. */
  return function checkCookieOrigin(request: RequestContext): void {
    if (request.transport === 'http' && isSafeMethod(request.method)) return;
    if (allowed(request)) return;
    throw new ApflowError('APF_FORBIDDEN', {
      message:
        'cookie-authenticated requests from another site are refused; send Authorization: Bearer <token> ' +
        "(or send the request from this server's own origin or one listed in server.cors_origins)",
    });
  };
}
