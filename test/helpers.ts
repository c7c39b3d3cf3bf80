import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { createApp, type App, type CreateAppOptions, type ExecuteAnswer, type ExecuteStarted } from 'apflow';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The `apflow` command, as a user runs it. */
export const apflowBin = join(repoRoot, 'bin', 'apflow.js');

/**
 * A throw-away project folder, like a user's: an ES-module package.json and apflow installed
 * in node_modules (a link to this repository). Removed when the test ends.
 */
export function tempProject(t: TestContext, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFiles(dir, { 'package.json': JSON.stringify({ name: 'app', type: 'module', private: true }), ...files });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(repoRoot, join(dir, 'node_modules', 'apflow'), 'dir');
  return dir;
}

/** Writes `files` (relative path → content) under `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** Collects log lines as parsed JSON objects. */
export function memoryLog(): { stream: Writable; lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { stream, lines, text: () => raw.join('\n') };
}

/**
 * An app on an in-memory SQLite database with no executor folder unless given, closed when the
 * test ends. `inline` is merged over those defaults.
 */
export async function testApp(
  t: TestContext,
  inline: Record<string, unknown> = {},
  options: CreateAppOptions = {},
): Promise<App> {
  const log = memoryLog();
  const app = await createApp({
    env: {},
    cwd: options.cwd ?? repoRoot,
    logStream: log.stream,
    ...options,
    inline: {
      database: { url: 'sqlite::memory:' },
      executors: { dirs: [] },
      examples: { auto_init: false },
      log: { level: 'warn' },
      ...inline,
    },
  });
  t.after(() => app.close());
  return app;
}

/** POSTs a JSON-RPC call (or any body) and returns status and parsed body. */
export async function rpc(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

/** A spawned `apflow` process with its output gathered. */
export interface SpawnedApflow {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process is gone and its output read. */
  exited: Promise<number | string>;
}

/** How {@link spawnApflow} starts the process. */
export interface SpawnApflowOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The script to run (default bin/apflow.js). */
  bin?: string;
  /** Start it as the leader of its own process group, so `process.kill(-pid)` reaches its workers too. */
  detached?: boolean;
  /** Written to its standard input, which is then closed (otherwise it has none). */
  input?: string;
}

/** Runs `apflow ARGS` as a real process. */
export function spawnApflow(args: string[], options: SpawnApflowOptions = {}): SpawnedApflow {
  const child = spawn(process.execPath, [options.bin ?? apflowBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (err += chunk));
  // 'close', not 'exit': it comes after the last output has been read.
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/**
 * How long a spawned apflow may take to start. Each process compiles its TypeScript on load, and
 * CI runs two test files at once beside a browser on two cores: starts of 20 s have been seen.
 */
export const PROCESS_START_MS = 60_000;

/** Waits until `apflow` logs that it listens; returns the base URL to call it on. */
export async function waitListening(proc: SpawnedApflow, timeoutMs = PROCESS_START_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = proc
      .stdout()
      .split('\n')
      .find((entry) => entry.includes('"apflow listening"'));
    if (line) {
      const { url } = JSON.parse(line) as { url: string };
      return url.replace('0.0.0.0', '127.0.0.1');
    }
    if (proc.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`apflow did not start:\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`);
}

/** Runs `apflow ARGS` to completion. */
export async function runApflow(args: string[], options: SpawnApflowOptions = {}) {
  const proc = spawnApflow(args, options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

type Falsy = undefined | null | false | 0 | '';

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as T;
    } catch (error) {
      last = error;
    }
    await sleep(25);
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether no process `pid` exists any more. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** One request an {@link httpReceiver} got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The status it was answered with. */
  status: number;
}

/**
 * A local HTTP receiver (webhooks, push notifications) on 127.0.0.1 that records every request
 * with its JSON body and answers `answer(body, n)` (n: requests before this one), after
 * `delayMs` (a slow endpoint). Closed when the test ends.
 */
export async function httpReceiver(
  t: TestContext,
  answer: (body: Record<string, unknown>, n: number) => number = () => 200,
  delayMs = 0,
) {
  const hits: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      const status = answer(body, hits.length);
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status });
      res.statusCode = status;
      setTimeout(() => res.end('ok'), delayMs);
    });
  });
  const port = await listenLocal(t, server);
  /** Bodies of the requests answered with a success status, in arrival order. */
  const delivered = () => hits.filter((hit) => hit.status < 300).map((hit) => hit.body);
  return { url: `http://127.0.0.1:${port}/hook`, hits, delivered };
}

/** Listens on a free port of 127.0.0.1 until the test ends (then drops the connections); returns the port. */
export async function listenLocal(t: TestContext, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

/**
 * Spawns `apflow ARGS` (in a tempProject unless `cwd` is given) as the leader of its own process
 * group; the whole group, workers included, is killed when the test ends.
 */
export function launchApflow(t: TestContext, args: string[], options: SpawnApflowOptions = {}): SpawnedApflow {
  const proc = spawnApflow(args, { ...options, cwd: options.cwd ?? tempProject(t), detached: true });
  t.after(async () => {
    try {
      process.kill(-(proc.child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
    await proc.exited;
  });
  return proc;
}

/** The run `engine.execute` began; throws (failing the test) when the tree was running already. */
export function started(answer: ExecuteAnswer): ExecuteStarted {
  if (!answer.started) throw new Error(`Task ${answer.root_task_id} is already running`);
  return answer;
}

/**
 * Records the text of every statement the write transactions of `sql` run (an app's
 * `storage.sql`, or the engine parts' `sql`) until `stop()`.
 */
export function recordWrites(sql: App['storage']['sql']): { statements: string[]; stop(): void } {
  const statements: string[] = [];
  const write = sql.write;
  sql.write = (work) =>
    write.call(sql, (runner) =>
      work({
        select: (text, params) => (statements.push(text), runner.select(text, params)),
        run: (text, params) => (statements.push(text), runner.run(text, params)),
      }),
    ) as never;
  return { statements, stop: () => void (sql.write = write) };
}
