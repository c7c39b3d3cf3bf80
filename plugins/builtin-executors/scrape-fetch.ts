import { ApflowError, type Outbound } from 'apflow';
import { fetchFailure } from './fetch-failure.ts';

/** The media types read as pages. */
export const PAGE_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain'] as const;

type FetchResponse = Awaited<ReturnType<Outbound['fetch']>>;

/** A downloaded page: final URL, status, media type and text. */
export interface Page {
  url: string;
  status: number;
  mediaType: string;
  text: string;
  truncated: boolean;
}

/** How to download one page. */
export interface DownloadOptions {
  url: URL;
  userAgent: string;
  maxBytes: number;
  signal: AbortSignal;
  /** Shown in messages: origin and path, never the query. */
  target: string;
}

/**
 * Downloads a page through the outbound policy (every hop of a redirect is checked), refusing
 * anything that is not HTML or plain text, and stops reading past `maxBytes` (the rest is never
 * downloaded). The text is decoded from the charset the header or the page's `<meta>` names.
 */
export async function downloadPage(outbound: Outbound, options: DownloadOptions): Promise<Page> {
  const { target } = options;
  let response: FetchResponse;
  try {
    response = await outbound.fetch(options.url, {
      headers: {
        'user-agent': options.userAgent,
        accept: 'text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8',
      },
      signal: options.signal,
    });
  } catch (error) {
    throw fetchError(error, options);
  }
  const contentType = response.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() || 'text/html';
  if (!(PAGE_TYPES as readonly string[]).includes(mediaType)) {
    await response.body?.cancel().catch(() => undefined);
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `scrape_executor: ${target} is ${mediaType}, not a page (scrape_executor reads ${PAGE_TYPES.join(', ')}; use rest_executor for other content)`,
    });
  }
  let body: { bytes: Uint8Array; truncated: boolean };
  try {
    body = await readBounded(response, options.maxBytes);
  } catch (error) {
    throw fetchError(error, options);
  }
  const charset = headerCharset(contentType) ?? (mediaType === 'text/plain' ? undefined : metaCharset(body.bytes));
  return {
    url: response.url || options.url.href,
    status: response.status,
    mediaType,
    text: decode(body.bytes, charset),
    truncated: body.truncated,
  };
}

/** Reads at most `maxBytes` of the body; past that the download is cancelled. */
async function readBounded(
  response: FetchResponse,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = response.body?.getReader();
  if (!reader) return { bytes: new Uint8Array(), truncated };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  return { bytes: Buffer.concat(chunks, size), truncated };
}

function headerCharset(contentType: string): string | undefined {
  return /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1];
}

/** The charset a page names in its first bytes (`<meta charset>` or `http-equiv`), per the HTML prescan. */
function metaCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  return /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1];
}

function decode(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // An unknown label: UTF-8, as browsers fall back to a default.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function fetchError(error: unknown, { signal, target, url }: DownloadOptions): unknown {
  // An abort (cancel, timeout) is the caller's to describe.
  if (signal.aborted) return error;
  return fetchFailure('scrape_executor', error, url, `GET ${target}`);
}
