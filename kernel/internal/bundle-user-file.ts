import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configFileNames } from '../config/config-file-names.ts';
import { compileCache } from './compile-cache.ts';
import { isBuild } from './package-root.ts';
import { userLoaderActive } from './user-loader.ts';
import { userFileBuild } from './user-file-plugins.ts';

let outDir: string | undefined;
let count = 0;

/**
 * Compiles a user's file (config, executor, local plugin) and the local files it imports into one
 * ES module with esbuild, and imports it. Used where apflow runs from its build without Node
 * loader hooks: TypeScript then loads in this thread, with no loader thread that every later
 * import would cross (about a second and 50 MB at start). Each call compiles afresh unless the
 * file and every local file it imports are as when last compiled (compile-cache.ts: then esbuild
 * does not start), so a reload sees the edited file and the helpers it imports. Packages stay the server's own modules, and
 * `import.meta` names each source file (user-file-plugins.ts); stack traces point into the
 * sources (inline source maps, enabled here).
 */
export async function importUserFile(file: string): Promise<unknown> {
  let code = compileCache.get(file);
  if (code === undefined) {
    const { build } = await import('esbuild');
    const read = new Map<string, string>();
    const result = await build({ ...userFileBuild(read), entryPoints: [file], metafile: true });
    code = result.outputFiles?.[0]?.text ?? '';
    if (result.metafile) compileCache.set(file, code, { metafile: result.metafile, workingDir: process.cwd(), read });
  }
  process.setSourceMapsEnabled(true);
  // A folder of this process's own (mode 0700), and each module deleted once it is loaded.
  outDir ??= makeOutDir();
  const out = join(outDir, `${basename(file, extname(file))}-${++count}.mjs`);
  writeFileSync(out, code, { mode: 0o600 });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}

/**
 * Starts esbuild's service (a process of its own) now, where the working folder holds files it
 * will compile (a TypeScript or JavaScript config, executors in `executors/`, unless compiled
 * since they last changed), so that its start overlaps with the server's own loading instead of
 * delaying the first file.
 */
export function warmUpUserFiles(cwd: string): void {
  if (!isBuild || userLoaderActive()) return;
  const configs = configFileNames.filter((name) => !/\.(json|ya?ml)$/.test(name)).map((name) => join(cwd, name));
  const folder = join(cwd, 'executors');
  // Helpers (`_name.ts`) and tests are compiled into the files that import them, not alone.
  const executors = existsSync(folder)
    ? readdirSync(folder)
        .filter((name) => /\.[mc]?[jt]s$/.test(name) && !/^_|\.(test|d)\.[mc]?[jt]s$/.test(name))
        .map((name) => join(folder, name))
    : [];
  if (![...configs, ...executors].some((file) => existsSync(file) && compileCache.get(file) === undefined)) return;
  void import('esbuild')
    .then(({ build }) => build({ stdin: { contents: '' }, write: false, logLevel: 'silent' }))
    .catch(() => undefined);
}

function makeOutDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-modules-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
