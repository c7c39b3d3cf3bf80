import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { packageRoot } from './package-root.ts';
import { version } from './version.ts';

/** What an entry records besides the code: every file compiled in, and the files it imports. */
interface Entry {
  file: string;
  /** Each source file compiled in, by absolute path, with the SHA-256 of its content. */
  inputs: Record<string, string>;
  /** Files outside it that it imports (packages, by absolute path): they must still be there. */
  externals: string[];
}

/**
 * User files compiled by esbuild (bundle-user-file.ts), kept between starts in
 * `node_modules/.cache/apflow` beside the installed apflow: a start whose config, executors and
 * local plugins have not changed imports them without starting esbuild. An entry is used only
 * when every file compiled into it (and the working folder's tsconfig.json and package.json) has
 * the same content (hashed, not dated) and every package file it imports is still there;
 * apflow's and esbuild's versions are part of its name. Writing is best effort: a
 * folder apflow cannot write to (a global install) only means compiling at each start.
 */
export const compileCache = {
  /** The compiled code of `file`, if an entry is still good. */
  get(file: string): string | undefined {
    try {
      const text = readFileSync(entryPath(file), 'utf8');
      const newline = text.indexOf('\n');
      const entry = JSON.parse(text.slice(HEADER.length, newline)) as Entry;
      if (!text.startsWith(HEADER) || entry.file !== file) return undefined;
      for (const [input, hash] of Object.entries(entry.inputs)) if (hashOf(input) !== hash) return undefined;
      if (!entry.externals.every((external) => existsSync(external))) return undefined;
      return text.slice(newline + 1);
    } catch {
      return undefined;
    }
  },
  /**
   * Keeps `code`, compiled from `file`: `metafile` is esbuild's (paths relative to `workingDir`),
   * `read` the hash of each source file's text as esbuild compiled it (a file saved during the
   * compile is then not kept under its new content). The working folder's tsconfig.json and
   * package.json count as inputs too (paths, `imports`, `type` change what a compile makes).
   */
  set(file: string, code: string, from: { metafile: Metafile; workingDir: string; read: Map<string, string> }): void {
    try {
      const inputs: Record<string, string> = {};
      for (const input of Object.keys(from.metafile.inputs)) {
        const path = resolve(from.workingDir, input);
        const hash = from.read.get(path);
        if (hash === undefined) return;
        inputs[path] = hash;
      }
      for (const name of ['tsconfig.json', 'package.json']) {
        const path = join(from.workingDir, name);
        if (existsSync(path)) inputs[path] = hashOf(path);
      }
      const { metafile } = from;
      const externals = Object.values(metafile.outputs)
        .flatMap((output) => output.imports)
        .filter((imported) => imported.external && imported.path.startsWith('file:'))
        .map((imported) => fileURLToPath(imported.path));
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      // One file, renamed into place: workers of one server compiling at once never mix an
      // entry's record with another compile's code, nor read half a file.
      const path = entryPath(file);
      const temporary = `${path}.${process.pid}.tmp`;
      const header = `${HEADER}${JSON.stringify({ file, inputs, externals } satisfies Entry)}\n`;
      writeFileSync(temporary, header + code, { mode: 0o600 });
      renameSync(temporary, path);
    } catch {
      // Not writable here (or a file went away meanwhile): the next start compiles again.
    }
  },
};

/** An entry's first line: this, then its record as JSON; the compiled module follows. */
const HEADER = '//apflow-compiled ';

/** `<app>/node_modules/.cache/apflow` for an installed apflow; in a clone, its own node_modules. */
const cacheDir = (() => {
  const root = fileURLToPath(packageRoot);
  const marker = `${sep}node_modules${sep}`;
  const at = root.lastIndexOf(marker);
  const modules = at === -1 ? join(root, 'node_modules') : root.slice(0, at + marker.length - 1);
  return join(modules, '.cache', 'apflow');
})();

const esbuildVersion = () =>
  String((createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version);

function entryPath(file: string): string {
  const key = createHash('sha256').update(`${version}\0${esbuildVersion()}\0${file}`).digest('hex').slice(0, 32);
  return join(cacheDir, `${key}.mjs`);
}

function hashOf(path: string): string {
  return createHash('sha256').update(readFileSync(path, 'utf8')).digest('hex');
}
