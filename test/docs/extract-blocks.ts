import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fenced code block of a markdown file. */
export interface CodeBlock {
  /** The markdown file, relative to the repository (`docs/api.md`). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language (`ts`, `bash`…), lower-cased; '' when it names none. */
  lang: string;
  /** The lines between the fences. */
  body: string;
  /** The `<!-- docs-test: MODE… (reason) -->` comment right before the block, if any. */
  directive: Directive | null;
}

/** What a `docs-test` comment asks: its modes (`skip`, `serve`, `postgres`…) and its reason. */
export interface Directive {
  modes: Set<string>;
  reason: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const DIRECTIVE = /^<!--\s*docs-test:\s*([a-z][a-z -]*?)\s*(?:\((.*)\))?\s*-->$/;

/** Every fenced code block of `file` (relative to `root`), in order. */
export function extractBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const fence = open[1] ?? '```';
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? '').trimStart().startsWith(fence); i++) body.push(lines[i] ?? '');
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: the code block is never closed`);
    const indent = /^ */.exec(lines[start] ?? '')?.[0].length ?? 0;
    blocks.push({
      file,
      line: start + 1,
      lang: (open[2] ?? '').toLowerCase(),
      body: body.map((text) => text.slice(Math.min(indent, /^ */.exec(text)?.[0].length ?? 0))).join('\n') + '\n',
      directive: directiveBefore(lines, start, file),
    });
  }
  return blocks;
}

/** The directive on the last non-blank line before line index `fence`, if it is one. */
function directiveBefore(lines: string[], fence: number, file: string): Directive | null {
  let j = fence - 1;
  while (j >= 0 && (lines[j] ?? '').trim() === '') j--;
  const text = (lines[j] ?? '').trim();
  if (!text.startsWith('<!-- docs-test')) return null;
  const match = DIRECTIVE.exec(text);
  if (!match) throw new Error(`${file}:${j + 1}: unreadable directive ${text}`);
  return { modes: new Set((match[1] ?? '').split(/\s+/).filter(Boolean)), reason: match[2] ?? '' };
}

/**
 * The markdown files whose blocks are run, in reading order: the README, then the guides in the
 * order its links name them. A guide in docs/ that the README does not link is an error.
 */
export function docFiles(root: string, guides: readonly string[]): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\((docs\/[a-z0-9-]+\.md)\)/g)].map((match) => String(match[1]));
  const ordered = [...new Set(linked)];
  const unlinked = guides.filter((guide) => !ordered.includes(guide));
  if (unlinked.length > 0) throw new Error(`README.md does not link ${unlinked.join(', ')}`);
  const missing = ordered.filter((guide) => !guides.includes(guide));
  if (missing.length > 0) throw new Error(`README.md links ${missing.join(', ')}, which do not exist`);
  return ['README.md', ...ordered];
}

/** The port the guides use for the server they talk to. */
export const DOCUMENTED_PORT = 8000;

/** `text` with the documented port (in `host:8000` and `--port 8000`) replaced by `port`. */
export function withPort(text: string, port: number): string {
  return text
    .replace(new RegExp(`\\b(localhost|127\\.0\\.0\\.1|0\\.0\\.0\\.0):${DOCUMENTED_PORT}\\b`, 'g'), `$1:${port}`)
    .replace(new RegExp(`(--port\\s+|port: )${DOCUMENTED_PORT}\\b`, 'g'), `$1${port}`);
}
