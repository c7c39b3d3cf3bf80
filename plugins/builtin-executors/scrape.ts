import { ApflowError, defineExecutor, Type, version } from 'apflow';
import { deadline, MAX_TIMEOUT_S } from './deadline.ts';
import type { Extracted } from './scrape-extract.ts';
import { downloadPage } from './scrape-fetch.ts';

const MiB = 1024 * 1024;
/**
 * The largest `max_bytes`. Parsing and extraction run on the server's main thread, at about 3 s
 * per MiB of HTML on a small server, during which it answers nothing and renews no lease: 5 MiB
 * keeps that pause well under the default 30 s lease.
 */
const MAX_PAGE_BYTES = 5 * MiB;

/**
 * `scrape_executor`: downloads a web page through the outbound policy (every redirect hop
 * checked) and returns its title, its main content (or what a CSS selector picks) as Markdown,
 * text or HTML, and its links. Only HTML and plain text are read; the download stops past
 * `max_bytes`; cancel and timeout abort it.
 */
export const scrapeExecutor = defineExecutor({
  id: 'scrape_executor',
  name: 'Web page scrape',
  description:
    'Fetches a web page (url, selector, format text|markdown|html, max_bytes, timeout, include_links, user_agent) ' +
    'and returns its title, main content and links',
  inputSchema: Type.Object({
    url: Type.String({ pattern: '^https?://' }),
    selector: Type.Optional(Type.String({ minLength: 1, description: 'CSS selector; default: the main content' })),
    format: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('markdown'), Type.Literal('html')], { default: 'markdown' }),
    ),
    max_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_BYTES, default: 2 * MiB })),
    timeout: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMEOUT_S, default: 30, description: 'seconds' }),
    ),
    include_links: Type.Optional(Type.Boolean({ default: true })),
    user_agent: Type.Optional(Type.String({ minLength: 1 })),
  }),
  async execute(inputs, ctx) {
    const url = new URL(inputs.url);
    // No query string in messages: API keys may travel there.
    const target = `${url.origin}${url.pathname}`;
    const timeoutS = inputs.timeout ?? 30;
    const timeout = deadline(timeoutS);
    const format = inputs.format ?? 'markdown';
    ctx.progress(0.1, `scrape_executor: downloading ${target}`);
    let page: Awaited<ReturnType<typeof downloadPage>>;
    try {
      page = await downloadPage(ctx.outbound, {
        url,
        target,
        userAgent: inputs.user_agent ?? `apflow/${version} scrape_executor`,
        maxBytes: inputs.max_bytes ?? 2 * MiB,
        signal: AbortSignal.any([ctx.signal, timeout.signal]),
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (timeout.passed)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `scrape_executor: GET ${target} timed out after ${timeoutS}s`,
        });
      throw error;
    } finally {
      timeout.clear();
    }
    ctx.progress(0.7, `scrape_executor: read ${page.text.length} characters, extracting`);
    const extracted: Extracted =
      page.mediaType === 'text/plain'
        ? { title: '', content: plainText(page.text), links: [] }
        : (await htmlExtractor())(page.text, {
            url: page.url,
            target,
            format,
            includeLinks: inputs.include_links ?? true,
            ...(inputs.selector === undefined ? {} : { selector: inputs.selector }),
          });
    return {
      url: page.url,
      status_code: page.status,
      content_type: page.mediaType,
      title: extracted.title,
      content: extracted.content,
      links: extracted.links,
      truncated: page.truncated,
    };
  },
  demoResult: (inputs) => ({
    url: typeof inputs.url === 'string' ? inputs.url : 'https://example.com/',
    status_code: 200,
    content_type: 'text/html',
    title: 'Example page (demo)',
    content: '# Example page\n\nThis is a demo result: no page was downloaded.',
    links: [{ text: 'More information', href: 'https://www.iana.org/domains/example' }],
    truncated: false,
  }),
});

/** Plain text as given, with the same whitespace tidying as a page's text. */
function plainText(text: string): string {
  return (
    text
      .split('\n')
      // trimEnd, not /\s+$/: that regex retries from every space of a long run (quadratic).
      .map((line) => line.trimEnd())
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

/**
 * The HTML extractor, loaded at the first page: its stack (linkedom, Readability, Turndown, ~230
 * modules) would otherwise load with every server start and CLI call that never scrapes.
 */
async function htmlExtractor(): Promise<typeof import('./scrape-extract.ts').extractPage> {
  return (await import('./scrape-extract.ts')).extractPage;
}
