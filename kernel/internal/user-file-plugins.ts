import { createHash } from 'node:crypto';
import { isBuiltin } from 'node:module';
import { readFileSync } from 'node:fs';
import { extname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildOptions, Loader, Plugin } from 'esbuild';
import { packageRoot } from './package-root.ts';

/** What a user's file is read as, by extension. */
const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
};
const BARE = /^(?![./#])(?![A-Za-z]:[\\/])(?!file:)/;
const TYPESCRIPT = /\.[mc]?ts$/;
const SKIP = Symbol('apflow: resolving');

/**
 * How a user's file is compiled (bundle-user-file.ts): where the modules it imports come from,
 * and what `import.meta` and `__dirname` mean in each of its files. Each source file read is put
 * in `read` with the SHA-256 of the very text compiled (what compile-cache.ts keeps it by).
 */
export const userFileBuild = (read: Map<string, string>): BuildOptions => ({
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Node's own conditions only (esbuild adds bundlers' `module` unless told), and node_modules
  // paths kept as Node sees them through links: a package resolves to the file Node would load.
  conditions: [],
  preserveSymlinks: true,
  sourcemap: 'inline',
  logLevel: 'silent',
  // `require` of a package or built-in from the compiled module (CommonJS user code).
  banner: {
    js: "import { createRequire as __apflowRequire } from 'node:module'; const require = __apflowRequire(import.meta.url);",
  },
  define: {
    'import.meta.url': '__apflowUrl',
    'import.meta.filename': '__apflowFilename',
    'import.meta.dirname': '__apflowDirname',
    __filename: '__apflowFilename',
    __dirname: '__apflowDirname',
  },
  plugins: [keepPackages(), sourceMeta(read)],
});

/**
 * Packages stay the server's own modules: an import that resolves into node_modules (JavaScript)
 * is left to Node by its absolute location, so `apflow` and every package load once. Built-ins
 * stay as they are; anything else (local files through tsconfig `paths`, `#imports`, linked
 * TypeScript packages) is compiled in, as tsx would have run it.
 */
function keepPackages(): Plugin {
  return {
    name: 'apflow-keep-packages',
    setup(build) {
      // esbuild's filters are Go regular expressions (no lookahead): bare names are told apart here.
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === SKIP || args.kind === 'entry-point') return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (!BARE.test(args.path)) return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: SKIP,
        });
        // A plugin linked from outside any node_modules that holds apflow gets the running apflow.
        const path = found.errors.length && isApflow(args.path) ? ownEntry(args.path) : found.path;
        if (!path) return { errors: found.errors };
        if (found.external) return { path: args.path, external: true };
        const packaged = path.includes(`${sep}node_modules${sep}`) && !TYPESCRIPT.test(path);
        if (!packaged && path === found.path) return { path };
        // `require` takes a path; `import` a URL.
        return { path: args.kind === 'require-call' ? path : pathToFileURL(path).href, external: true };
      });
    },
  };
}

/** Each file gets its own `import.meta.url`, `filename` and `dirname` (see `define` above). */
function sourceMeta(read: Map<string, string>): Plugin {
  return {
    name: 'apflow-source-meta',
    setup(build) {
      build.onLoad({ filter: /\.[mc]?[jt]s$/ }, (args) => {
        const url = pathToFileURL(args.path).href;
        const dirname = fileURLToPath(new URL('.', url)).replace(/[\\/]$/, '');
        const names = `const __apflowUrl = ${JSON.stringify(url)}, __apflowFilename = ${JSON.stringify(args.path)}, __apflowDirname = ${JSON.stringify(dirname)};`;
        const source = readFileSync(args.path, 'utf8');
        read.set(args.path, createHash('sha256').update(source).digest('hex'));
        // On the first line, so that line numbers stay the source's (after a `#!` line).
        const hashbang = source.startsWith('#!') ? source.slice(0, source.indexOf('\n') + 1) : '';
        const contents = `${hashbang}${names} ${source.slice(hashbang.length)}`;
        return { contents, loader: LOADERS[extname(args.path)] ?? 'js' };
      });
    },
  };
}

function isApflow(specifier: string): boolean {
  return specifier === 'apflow' || specifier === 'apflow/testing';
}

function ownEntry(specifier: string): string {
  const entry = specifier === 'apflow' ? 'dist/kernel/index.js' : 'dist/kernel/testing/index.js';
  return fileURLToPath(new URL(entry, packageRoot));
}
