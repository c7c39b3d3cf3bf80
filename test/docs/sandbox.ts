import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, writeFiles } from '../helpers.ts';

/** The temporary tree the blocks run in: projects for the guides' files, shims for the shell. */
export interface Sandbox {
  root: string;
  /** Folder holding the `apflow` and `curl` shims that come first on the shell's PATH. */
  shims: string;
  /** A folder under the root where `npx apflow` and `import 'apflow'` reach this repository. */
  project(name: string): string;
  /** The environment of a shell block (`extra` added). */
  shellEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  remove(): void;
}

// `curl` as the guides show it, failing on an HTTP error status (--fail-with-body) and on a
// JSON-RPC answer carrying an error, so a block that "works" only by printing an error fails.
const CURL_SHIM = `const { spawnSync } = require('node:child_process');
const run = spawnSync(process.env.APFLOW_DOCS_REAL_CURL, ['-sS', '--fail-with-body', ...process.argv.slice(2)], {
  stdio: ['inherit', 'pipe', 'inherit'],
});
process.stdout.write(run.stdout ?? '');
if (run.status !== 0) process.exit(run.status ?? 1);
let answer;
try {
  answer = JSON.parse(String(run.stdout));
} catch {
  process.exit(0);
}
const answers = Array.isArray(answer) ? answer : [answer];
if (answers.some((one) => one && typeof one === 'object' && 'jsonrpc' in one && 'error' in one)) {
  process.stderr.write('\\ndocs-test: the answer is a JSON-RPC error\\n');
  process.exit(22);
}
`;

/** Makes the sandbox: node_modules linking `apflow`, `@apflow/*` and `@types` to this repository's. */
export function createSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'apflow-docs-'));
  writeFiles(root, { 'package.json': JSON.stringify({ name: 'docs', type: 'module', private: true }) });
  mkdirSync(join(root, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(repoRoot, join(root, 'node_modules', 'apflow'), 'dir');
  symlinkSync(join(repoRoot, 'node_modules', '@apflow'), join(root, 'node_modules', '@apflow'), 'dir');
  symlinkSync(join(repoRoot, 'node_modules', '@types'), join(root, 'node_modules', '@types'), 'dir');
  symlinkSync('../apflow/bin/apflow.js', join(root, 'node_modules', '.bin', 'apflow'));
  const shims = join(root, 'shims');
  writeFiles(shims, {
    'package.json': JSON.stringify({ type: 'commonjs' }),
    apflow: `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'bin', 'apflow.js')}" "$@"\n`,
    curl: `#!/usr/bin/env node\n${CURL_SHIM}`,
  });
  chmodSync(join(shims, 'apflow'), 0o755);
  chmodSync(join(shims, 'curl'), 0o755);
  const realCurl = execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  return {
    root,
    shims,
    project(name) {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    shellEnv(extra = {}) {
      return {
        PATH: `${shims}:${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME,
        // npx must run the linked apflow, never fetch a package.
        npm_config_offline: 'true',
        npm_config_update_notifier: 'false',
        APFLOW_DOCS_REAL_CURL: realCurl,
        ...extra,
      };
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** How a shell block ended. */
export interface ShellResult {
  code: number | string;
  output: string;
}

/** Runs `script` with `bash -e -o pipefail` in `cwd`, killed after `timeoutMs`. */
export function runShell(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 90_000) {
  return runProcess('bash', ['-e', '-o', 'pipefail', '-c', script], cwd, env, timeoutMs);
}

/** Runs a program to its end (its whole process group killed after `timeoutMs`). */
export function runProcess(
  program: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ShellResult> {
  const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => {
    output += `\n(killed after ${timeoutMs} ms)`;
    killGroup(child.pid, 'SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, output });
    }),
  );
}

/** Signals a process group (a detached child and what it started); gone already is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
