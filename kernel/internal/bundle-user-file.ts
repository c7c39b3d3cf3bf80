import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Loader, Plugin } from 'esbuild';
import { configFileNames } from '../config/config-file-names.ts';
import { isBuild, packageRoot } from './package-root.ts';
import { userLoaderActive } from './user-loader.ts';

/** What a user's file is read as, by extension. */
const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
};
const BARE = /^(?![./])(?!node:)(?![A-Za-z]:[\\/])(?!file:)/;
const META = /\bimport\.meta\.(url|dirname|filename)\b/g;
let outDir: string | undefined;
let count = 0;

/**
 * Compiles a user's file (config, executor, local plugin) and the local files it imports into one
 * ES module, and returns where it was written, to be imported. Used where apflow runs from its
 * build without Node loader hooks: TypeScript then loads in this thread, with no loader thread
 * that every later import would cross (about a second and 50 MB at start). Each call compiles
 * afresh, so a reload sees the edited file and the helpers it imports.
 *
 * Packages stay packages: each bare import is resolved from the file's folder and imported by
 * its absolute URL, so `apflow` and every package are the very modules the server already has.
 * `import.meta.url`, `dirname` and `filename` keep naming each source file.
 */
export async function bundleUserFile(file: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [keepPackages, sourceMeta],
  });
  outDir ??= makeOutDir();
  const out = join(outDir, `${basename(file, extname(file))}-${++count}.mjs`);
  writeFileSync(out, result.outputFiles[0]?.text ?? '');
  return out;
}

/**
 * Starts esbuild's service (a process of its own) now, where the working folder holds files it
 * will compile (a TypeScript or JavaScript config, an `executors` folder), so that its start
 * overlaps with the server's own loading instead of delaying the first file.
 */
export function warmUpUserFiles(cwd: string): void {
  if (!isBuild || userLoaderActive()) return;
  const names = ['executors', ...configFileNames.filter((name) => !/\.(json|ya?ml)$/.test(name))];
  if (!names.some((name) => existsSync(join(cwd, name)))) return;
  void import('esbuild')
    .then(({ build }) => build({ stdin: { contents: '' }, write: false, logLevel: 'silent' }))
    .catch(() => undefined);
}

const SKIP = Symbol('apflow: resolving');

const keepPackages: Plugin = {
  name: 'apflow-keep-packages',
  setup(build) {
    // esbuild's filters are Go regular expressions (no lookahead): bare names are told apart here.
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === SKIP || args.kind === 'entry-point' || !BARE.test(args.path)) return undefined;
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: SKIP });
      // A plugin linked from outside any node_modules that holds apflow gets the running apflow.
      const path = found.errors.length && isApflow(args.path) ? ownEntry(args.path) : found.path;
      if (!path) return { errors: found.errors };
      return { path: pathToFileURL(path).href, external: true };
    });
  },
};

const sourceMeta: Plugin = {
  name: 'apflow-source-meta',
  setup(build) {
    build.onLoad({ filter: /\.[mc]?[jt]s$/ }, (args) => {
      const url = pathToFileURL(args.path);
      const values = {
        url: url.href,
        filename: args.path,
        dirname: fileURLToPath(new URL('.', url)).replace(/[\\/]$/, ''),
      };
      const contents = readFileSync(args.path, 'utf8').replace(META, (_, key: keyof typeof values) =>
        JSON.stringify(values[key]),
      );
      return { contents, loader: LOADERS[extname(args.path)] ?? 'js' };
    });
  },
};

function isApflow(specifier: string): boolean {
  return specifier === 'apflow' || specifier === 'apflow/testing';
}

function ownEntry(specifier: string): string {
  const entry = specifier === 'apflow' ? 'dist/kernel/index.js' : 'dist/kernel/testing/index.js';
  return fileURLToPath(new URL(entry, packageRoot));
}

function makeOutDir(): string {
  const dir = join(tmpdir(), `apflow-modules-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
