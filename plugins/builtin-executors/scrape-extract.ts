import { Readability } from '@mozilla/readability';
import { ApflowError } from 'apflow';
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';
import { readableText } from './scrape-text.ts';

/** The formats content comes in. */
export type ScrapeFormat = 'text' | 'markdown' | 'html';

/** A link of the page, its href absolute. */
export interface Link {
  text: string;
  href: string;
}

/** What is taken from a page. */
export interface Extracted {
  title: string;
  content: string;
  links: Link[];
}

/** What to take from a page. */
export interface ExtractOptions {
  /** The page's final URL, against which relative links resolve (unless the page has `<base>`). */
  url: string;
  selector?: string;
  format: ScrapeFormat;
  includeLinks: boolean;
  /** Shown in messages. */
  target: string;
}

/** Never content: code and what only a browser running scripts shows. */
const HIDDEN = 'script, style, noscript, template';
const MAX_LINKS = 1000;

/**
 * Takes the title, the content and the links of an HTML page: the elements `selector` matches,
 * or else the main content found by Readability (the whole body when it finds none), as text,
 * Markdown or HTML. Scripts and styles are removed first; links and images get absolute URLs.
 */
export function extractPage(html: string, options: ExtractOptions): Extracted {
  const document = parsePage(html);
  // A title outside <head> (a page without one) still names the page; linkedom's document.title looks in <head>.
  const title = (document.title || document.querySelector('title')?.textContent || '').replace(/\s+/g, ' ').trim();
  for (const hidden of Array.from(document.querySelectorAll(`${HIDDEN}, body title`))) hidden.remove();
  absolutize(document, baseUrl(document, options.url));
  const roots = options.selector ? selected(document, options.selector, options.target) : mainContent(document);
  return {
    title,
    content: render(roots, options.format),
    links: options.includeLinks ? collectLinks(options.selector ? roots : [document.documentElement]) : [],
  };
}

/**
 * The page's document. Without a `<body>` tag (optional in HTML) linkedom leaves the body empty,
 * so the page is read as the body's content.
 */
function parsePage(html: string): Document {
  if (/<body[\s>]/i.test(html)) return parseHTML(html).document;
  // [^<>]*, not [^>]*: a tag never closed would make every try scan to the end (quadratic).
  const inner = html.replace(/<!doctype[^<>]*>|<\/?(?:html|head)(?:\s[^<>]*)?>/gi, '');
  return parseHTML(`<!doctype html><html><head></head><body>${inner}</body></html>`).document;
}

function selected(document: Document, selector: string, target: string): Element[] {
  let found: Element[];
  try {
    found = Array.from(document.querySelectorAll(selector));
  } catch {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `scrape_executor: selector '${selector}' is not valid CSS`,
    });
  }
  if (!found.length)
    throw new ApflowError('APF_NOT_FOUND', {
      message: `scrape_executor: selector '${selector}' matches nothing on ${target}`,
    });
  return found;
}

/** Readability's article, read from a copy (it rewrites the document it is given). */
function mainContent(document: Document): Element[] {
  const body = document.body ?? document.documentElement;
  // cloneNode is typed as Node; the copy of a Document is a Document.
  const article = new Readability(document.cloneNode(true) as Document).parse();
  if (!article?.content || !article.textContent?.trim()) return [body];
  const { document: parsed } = parseHTML(`<!doctype html><html><body>${article.content}</body></html>`);
  return parsed.body.firstElementChild ? [parsed.body.firstElementChild] : [body];
}

function render(roots: Element[], format: ScrapeFormat): string {
  if (format === 'text') return readableText(roots);
  if (format === 'html')
    return roots
      .map((root) => (root.localName === 'body' ? root.innerHTML : root.outerHTML))
      .join('\n')
      .trim();
  for (const root of roots) shortenKeptWhitespace(root, root.localName === 'pre');
  const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  // linkedom elements are DOM elements, the HTMLElement turndown is typed with.
  return roots
    .map((root) => turndown.turndown(root as HTMLElement))
    .join('\n\n')
    .trim();
}

/** The longest run of whitespace kept in `<pre>` for Markdown. */
const MAX_KEPT_WHITESPACE = 64;

/**
 * Cuts runs of whitespace inside `<pre>` to 64 characters: Turndown trims its output with a
 * pattern that retries from every character of a run (minutes for a megabyte of spaces).
 */
function shortenKeptWhitespace(node: Node, pre: boolean): void {
  if (node.nodeType === 3) {
    if (pre && node.nodeValue && node.nodeValue.length > MAX_KEPT_WHITESPACE)
      node.nodeValue = node.nodeValue.replace(/\s{65,}/g, (run) => run.slice(0, MAX_KEPT_WHITESPACE));
    return;
  }
  const inPre = pre || ('localName' in node && node.localName === 'pre');
  for (const child of Array.from(node.childNodes)) shortenKeptWhitespace(child, inPre);
}

function baseUrl(document: Document, pageUrl: string): string {
  const href = document.querySelector('base[href]')?.getAttribute('href');
  if (!href) return pageUrl;
  try {
    return new URL(href, pageUrl).href;
  } catch {
    return pageUrl;
  }
}

/** Rewrites links and image sources as absolute URLs; script URLs (`javascript:`) are dropped. */
function absolutize(document: Document, base: string): void {
  for (const [selector, attribute] of [
    ['a[href]', 'href'],
    ['img[src]', 'src'],
  ] as const) {
    for (const element of Array.from(document.querySelectorAll(selector))) {
      const absolute = absoluteUrl(element.getAttribute(attribute) ?? '', base);
      if (absolute) element.setAttribute(attribute, absolute);
      else element.removeAttribute(attribute);
    }
  }
}

function absoluteUrl(href: string, base: string): string | undefined {
  try {
    const url = new URL(href.trim(), base);
    return ['http:', 'https:', 'mailto:', 'tel:', 'ftp:'].includes(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The http(s) links under `roots`, each href once, in page order. */
function collectLinks(roots: readonly Element[]): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    const anchors = Array.from(root.querySelectorAll('a[href]'));
    if (root.matches('a[href]')) anchors.unshift(root);
    for (const anchor of anchors) {
      const href = anchor.getAttribute('href') ?? '';
      if (!/^https?:/.test(href) || seen.has(href)) continue;
      seen.add(href);
      links.push({ text: (anchor.textContent ?? '').replace(/\s+/g, ' ').trim(), href });
      if (links.length >= MAX_LINKS) return links;
    }
  }
  return links;
}
