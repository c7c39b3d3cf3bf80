import { existsSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createApp, isRecord } from 'apflow';
import { projectCompilerOptions } from '../../kernel/cli/scaffold/project-files.ts';
import { repoRoot, writeFiles } from '../helpers.ts';
import { withPort, type CodeBlock } from './extract-blocks.ts';
import { runProcess, type ShellResult } from './sandbox.ts';

/** What a TypeScript block is, from its path comment (`// executors/hello.ts`) or its directive. */
export type TsRole = 'executor' | 'plugin' | 'config' | 'test' | 'script' | 'fragment';

/** A TypeScript block written into its guide's project. */
export interface TsFile {
  block: CodeBlock;
  role: TsRole;
  /** Its guide's project folder. */
  dir: string;
  /** Path inside that folder (`executors/hello.ts`, `_block-L12.ts`). */
  path: string;
}

const PATH_COMMENT = /^\/\/\s*([\w./-]+\.m?ts)(?:\s|$)/;

/** The role of a block with path comment `path` (null: none), or an error naming what is wrong. */
function roleOf(block: CodeBlock, path: string | null): TsRole {
  if (path === null) return block.directive?.modes.has('fragment') ? 'fragment' : 'script';
  if (path.endsWith('.test.ts')) return 'test';
  if (/^apflow\.config\.m?ts$/.test(path)) return 'config';
  if (path.startsWith('executors/')) return 'executor';
  if (path.startsWith('plugins/')) return 'plugin';
  throw new Error(
    `${block.file}:${block.line}: a block at '${path}' is neither an executor, a plugin, a config nor a test`,
  );
}

/**
 * Writes every TypeScript block into the project of its guide (a folder of `root` per markdown
 * file): blocks with a path comment at that path, the others as `_block-L<line>.ts`, with the
 * documented port replaced by `port`.
 */
export function writeTsBlocks(root: string, blocks: readonly CodeBlock[], port: number): TsFile[] {
  const files: TsFile[] = [];
  const taken = new Set<string>();
  for (const block of blocks) {
    const named = PATH_COMMENT.exec(block.body.split('\n')[0] ?? '')?.[1] ?? null;
    const role = roleOf(block, named);
    const dir = join(root, block.file.replace(/\.md$/, '').replaceAll('/', '-'));
    const path = named ?? `_block-L${block.line}.ts`;
    if (taken.has(join(dir, path))) throw new Error(`${block.file}:${block.line}: a second block at '${path}'`);
    taken.add(join(dir, path));
    writeFiles(dir, { [path]: role === 'script' ? withPort(block.body, port) : block.body });
    files.push({ block, role, dir, path });
  }
  return files;
}

/** Type errors per written file (absolute path), and those in no block's file. */
export interface TypeCheck {
  byFile: Map<string, string[]>;
  other: string[];
  result: ShellResult;
}

/** Type-checks the written files with the repository's TypeScript and strict settings. */
export async function typeCheck(root: string, files: readonly TsFile[]): Promise<TypeCheck> {
  // A new project's settings (apflow init), stricter still.
  const compilerOptions = {
    ...projectCompilerOptions,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    isolatedModules: true,
    customConditions: ['apflow-source'],
  };
  const list = files.map((file) => relative(root, join(file.dir, file.path)));
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: list }, null, 2));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const result = await runProcess(
    process.execPath,
    [tsc, '-p', 'tsconfig.json', '--pretty', 'false'],
    root,
    env,
    180_000,
  );
  const byFile = new Map<string, string[]>();
  const other: string[] = [];
  let last: string[] = other;
  for (const line of result.output.split('\n').filter(Boolean)) {
    const located = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (!located) {
      last.push(line);
      continue;
    }
    const file = resolve(root, located[1] ?? '');
    last = byFile.get(file) ?? [];
    byFile.set(file, last);
    last.push(`line ${located[2]}: ${located[4]}`);
  }
  const known = new Set(files.map((file) => join(file.dir, file.path)));
  for (const [file, errors] of byFile) if (!known.has(file)) other.push(...errors.map((error) => `${file}: ${error}`));
  return { byFile, other, result };
}

const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * Starts an app on one guide's project (its config file when it has one, else its plugins on a
 * SQLite file there; `./executors` either way) and checks that every executor block registered
 * and nothing failed to load. Resolves with an error message, or null when all is well.
 */
export async function loadProject(dir: string, files: readonly TsFile[]): Promise<string | null> {
  const hasConfig = files.some((file) => file.role === 'config');
  const plugins = files.filter((file) => file.role === 'plugin').map((file) => `./${file.path}`);
  const app = await createApp({
    cwd: dir,
    env: {},
    logStream: quiet(),
    ...(hasConfig
      ? {}
      : {
          inline: {
            database: { url: `sqlite:${join(dir, '.data', 'apflow.sqlite')}` },
            examples: { auto_init: false },
            plugins,
          },
        }),
  });
  try {
    for (const file of files.filter((one) => one.role === 'executor')) {
      const loaded: unknown = await import(pathToFileURL(join(dir, file.path)).href);
      const definition = isRecord(loaded) && isRecord(loaded.default) ? loaded.default : null;
      const id = definition && typeof definition.id === 'string' ? definition.id : null;
      if (!id) return `${file.path} has no default export with an id`;
      if (!app.executor(id)) return `the server on ${dir} did not load the executor '${id}' of ${file.path}`;
    }
    const health = await app.health();
    if (health.reload_errors.length > 0) return `load errors: ${JSON.stringify(health.reload_errors)}`;
    return null;
  } finally {
    await app.close();
  }
}

/** Runs a test block with node's test runner, or a script block to its end, in its project. */
export function runTsFile(file: TsFile): Promise<ShellResult> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const target = join(file.dir, file.path);
  if (!existsSync(target)) throw new Error(`${target} was not written`);
  const args =
    file.role === 'test' ? ['--import', 'apflow/register', '--test', target] : ['--import', 'apflow/register', target];
  return runProcess(process.execPath, args, file.dir, env, 120_000);
}
