import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';
import { packageRoot } from '../internal/package-root.ts';

const TEST_FILE = /\.test\.[mc]?[jt]s$/;
const SKIPPED = new Set(['node_modules', 'dist', 'coverage']);

/**
 * `apflow test [FILTER…]`: runs the project's `*.test.ts` (and `.js`) files under the working
 * folder with Node's test runner and the TypeScript loader (Node 20's runner finds no `.ts` files
 * by itself); filters keep the files whose path contains one of them. Exits with the runner's code.
 */
export async function testCommand(filters: readonly string[]): Promise<void> {
  const files = find(process.cwd()).filter(
    (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
  );
  if (files.length === 0) {
    throw new ApflowError('APF_NOT_FOUND', {
      message: `apflow test: no test files${filters.length ? ` matching ${filters.join(', ')}` : ''} (*.test.ts) under ${process.cwd()}`,
    });
  }
  const register = new URL('bin/register.js', packageRoot).href;
  // Without NODE_TEST_CONTEXT: set when a test runner started this command, it would make this
  // runner send its results there (in its wire format) instead of printing them.
  const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', register, '--test', ...files], { stdio: 'inherit', env });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
  process.exitCode = code;
}

function find(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path, root);
    return TEST_FILE.test(entry.name) ? [relative(root, path)] : [];
  });
}
