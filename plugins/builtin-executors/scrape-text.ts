/** Elements that end a line of text. */
const LINE = new Set(['br', 'li', 'tr', 'dt', 'dd', 'figcaption', 'caption', 'option']);
/** Elements that stand apart as a paragraph. */
const PARAGRAPH = new Set(
  (
    'address article aside blockquote details div dl fieldset figure footer form h1 h2 h3 h4 h5 h6 header hr main ' +
    'nav ol p pre section summary table ul'
  ).split(' '),
);
const CELL = new Set(['td', 'th']);
// Marks while walking: breaks that meet merge into the largest (a list in a paragraph is one blank line).
const LINE_BREAK = '\u0001';
const PARAGRAPH_BREAK = '\u0002';
const PRE_NEWLINE = '\u0000';
// Runs of spaces and marks, each taken whole: a pattern requiring a mark inside the run would retry
// from every space of a long run without one (quadratic on a page of spaces).
const RUNS = /[ \u0001\u0002]+/g;

/**
 * The readable text of `roots`: paragraphs apart by a blank line, list items and rows on their own
 * lines, runs of spaces collapsed (`<pre>` keeps its line breaks), no leading or trailing blank lines.
 */
export function readableText(roots: readonly Node[]): string {
  const parts: string[] = [];
  for (const root of roots) walk(root, parts, false);
  return tidy(parts.join(''));
}

function walk(node: Node, parts: string[], pre: boolean): void {
  if (node.nodeType === 3) {
    const text = node.nodeValue ?? '';
    parts.push(pre ? text.replace(/\n/g, PRE_NEWLINE) : text.replace(/\s+/g, ' '));
    return;
  }
  if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
  const name = 'localName' in node && typeof node.localName === 'string' ? node.localName.toLowerCase() : '';
  const inPre = pre || name === 'pre';
  const breakWith = PARAGRAPH.has(name) ? PARAGRAPH_BREAK : LINE.has(name) ? LINE_BREAK : CELL.has(name) ? ' ' : '';
  if (breakWith) parts.push(breakWith);
  for (const child of Array.from(node.childNodes)) walk(child, parts, inPre);
  if (breakWith) parts.push(breakWith);
}

/** Turns the marks into line breaks, trims every line, and leaves at most one blank line in a row. */
function tidy(text: string): string {
  return text
    .replace(RUNS, (run) =>
      run.includes(PARAGRAPH_BREAK) ? '\n\n' : run.includes(LINE_BREAK) ? '\n' : run.length > 1 ? ' ' : run,
    )
    .split('\n')
    .map((line) => line.replace(/[ \t\f\v\u00a0]+/g, ' ').trim())
    .join('\n')
    .replaceAll(PRE_NEWLINE, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
