import { ApflowError } from 'apflow';

/** Splits a command line into words, honouring quotes; no expansion of any kind. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (quote) throw new ApflowError('APF_INVALID_PARAMS', { message: `command has an unclosed ${quote} quote` });
  if (started) words.push(current);
  return words;
}

/** Quotes a word so that {@link splitWords} gives it back unchanged. */
export function quoteWord(word: string): string {
  if (/^[^\s'"]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}
