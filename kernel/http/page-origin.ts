/** `scheme://host[:port]` of an origin or URL, lowercased, default port left out; the text itself for no URL (`null`). */
function normalOrigin(value: string): string {
  try {
    return new URL(value).origin.toLowerCase();
  } catch {
    return value.trim().toLowerCase();
  }
}

/**
 * Whether a browser page at `origin` (an `Origin` header, or the URL of a `Referer`) may act on
 * this server: a page of the server itself (an http(s) origin whose host and port are the
 * request's `Host` header), or one listed in `server.cors_origins`. `"*"` in that list counts
 * only with `wildcard`: it lets any page call with a token it holds (WebSocket upgrades), never
 * with the user's cookies. `null` (sandboxed frames, `file:` pages) counts only when listed as is.
 * The one rule behind the WebSocket origin check and the cookie cross-site check.
 */
export function isTrustedOrigin(
  origin: string,
  host: string | undefined,
  corsOrigins: readonly string[],
  options: { wildcard: boolean },
): boolean {
  if (options.wildcard && corsOrigins.includes('*')) return true;
  const asked = normalOrigin(origin);
  if (corsOrigins.some((listed) => listed !== '*' && normalOrigin(listed) === asked)) return true;
  if (!host) return false;
  try {
    const page = new URL(origin);
    if (page.protocol !== 'http:' && page.protocol !== 'https:') return false;
    // The Host header read with the page's scheme, so an explicit default port compares equal.
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    return false;
  }
}
