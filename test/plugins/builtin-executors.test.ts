import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { App } from 'apflow';
import { eventually, freePort, listenLocal, processGone, testApp } from '../helpers.ts';

type Row = Awaited<ReturnType<App['tasks']['tree']>>[number];
type Json = Record<string, unknown>;

/** Creates a tree, runs it to the end and returns its rows by name. */
async function runTree(app: App, tasks: Json[]) {
  const tree = await app.engine.createTree(tasks);
  const { done } = await app.engine.execute(tree.id);
  const outcome = await done;
  const rows = await app.tasks.tree(tree.id);
  const byName = (name: string): Row => {
    const row = rows.find((candidate) => candidate.name === name);
    assert.ok(row, `no task named ${name}`);
    return row;
  };
  return { tree, outcome, rows, byName };
}

/** Runs one task with executor `method` and returns its row. */
async function runOne(app: App, method: string, inputs: Json = {}): Promise<Row> {
  const { rows } = await runTree(app, [{ name: method, schemas: { method }, inputs }]);
  assert.equal(rows.length, 1);
  return rows[0] as Row;
}

/** The result of a task that must have completed. */
function completed<T = Json>(row: Row): T {
  assert.equal(row.status, 'completed', `task failed: ${String(row.error)}`);
  assert.equal(row.error, null);
  return row.result as T;
}

/** The error of a task that must have failed. */
function failed(row: Row): string {
  assert.equal(row.status, 'failed', `task did not fail: ${JSON.stringify(row.result)}`);
  assert.equal(typeof row.error, 'string');
  return row.error as string;
}

/** Rejects when `promise` has not settled within `ms`, naming what was awaited. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

describe('system_info_executor', () => {
  interface Cpu {
    system: string;
    architecture: string;
    brand: string;
    cores: number;
    threads: number;
    load_average: number[];
  }
  interface Memory {
    total_bytes: number;
    available_bytes: number;
    used_bytes: number;
    percent_used: number;
  }
  interface Disk {
    path: string;
    total_bytes: number;
    free_bytes: number;
    used_bytes: number;
    percent_used: number;
  }

  const checkCpu = (cpu: Cpu) => {
    assert.equal(cpu.system, os.platform());
    assert.equal(cpu.architecture, os.arch());
    assert.equal(typeof cpu.brand, 'string');
    assert.ok(Number.isInteger(cpu.cores) && cpu.cores >= 1, `cores ${cpu.cores}`);
    assert.ok(Number.isInteger(cpu.threads) && cpu.threads >= 1, `threads ${cpu.threads}`);
    assert.equal(cpu.load_average.length, 3);
    for (const load of cpu.load_average) assert.ok(load >= 0);
  };
  const checkMemory = (memory: Memory) => {
    assert.ok(memory.total_bytes > 0);
    assert.ok(memory.available_bytes >= 0 && memory.available_bytes <= memory.total_bytes);
    assert.equal(memory.used_bytes, memory.total_bytes - memory.available_bytes);
    assert.ok(memory.percent_used >= 0 && memory.percent_used <= 100);
  };
  const checkDisk = (disk: Disk) => {
    assert.equal(typeof disk.path, 'string');
    assert.ok(disk.total_bytes > 0);
    assert.ok(disk.free_bytes >= 0 && disk.free_bytes <= disk.total_bytes);
    assert.equal(disk.used_bytes, disk.total_bytes - disk.free_bytes);
    assert.ok(disk.percent_used >= 0 && disk.percent_used <= 100);
  };

  test('cpu, memory and disk report real values of this machine', async (t) => {
    const app = await testApp(t);
    checkCpu(completed<Cpu>(await runOne(app, 'system_info_executor', { resource: 'cpu' })));
    checkMemory(completed<Memory>(await runOne(app, 'system_info_executor', { resource: 'memory' })));
    checkDisk(completed<Disk>(await runOne(app, 'system_info_executor', { resource: 'disk' })));
  });

  test('all (the default) reports the three together', async (t) => {
    const app = await testApp(t);
    for (const inputs of [{}, { resource: 'all' }]) {
      const all = completed<{ cpu: Cpu; memory: Memory; disk: Disk }>(
        await runOne(app, 'system_info_executor', inputs),
      );
      assert.deepEqual(Object.keys(all).sort(), ['cpu', 'disk', 'memory']);
      checkCpu(all.cpu);
      checkMemory(all.memory);
      checkDisk(all.disk);
    }
  });

  test('an unknown resource fails the task before it runs, naming the input', async (t) => {
    const app = await testApp(t);
    const error = failed(await runOne(app, 'system_info_executor', { resource: 'gpu' }));
    assert.match(error, /^Invalid inputs for executor 'system_info_executor': .*resource/);
  });
});

describe('aggregate_results_executor', () => {
  test('as the root over its children, it gathers each dependency result under its id', async (t) => {
    const app = await testApp(t);
    const before = Date.now();
    const { byName, outcome } = await runTree(app, [
      {
        id: 'agg',
        name: 'agg',
        schemas: { method: 'aggregate_results_executor' },
        inputs: { own: 'input' },
        dependencies: ['cpu', 'mem'],
      },
      {
        id: 'cpu',
        name: 'cpu',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'cpu' },
      },
      {
        id: 'mem',
        name: 'mem',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'memory' },
      },
    ]);
    assert.equal(outcome.status, 'completed');
    const [cpu, mem] = [byName('cpu'), byName('mem')];
    const result = completed<{ summary: string; timestamp: string; results: Json; result_count: number }>(
      byName('agg'),
    );
    assert.deepEqual(Object.keys(result), ['summary', 'timestamp', 'results', 'result_count']);
    assert.equal(result.summary, 'Task Results Aggregation');
    assert.deepEqual(
      result.results,
      { [cpu.id]: completed(cpu), [mem.id]: completed(mem) },
      'only dependency results, not its own inputs',
    );
    assert.equal(result.result_count, 2);
    assert.match(result.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(result.timestamp) >= before && Date.parse(result.timestamp) <= Date.now());
  });

  test('a failed optional dependency is left out of the results', async (t) => {
    const app = await testApp(t);
    const { byName } = await runTree(app, [
      {
        id: 'agg',
        name: 'agg',
        schemas: { method: 'aggregate_results_executor' },
        dependencies: ['ok', { id: 'bad', required: false }],
      },
      {
        id: 'ok',
        name: 'ok',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'cpu' },
      },
      {
        id: 'bad',
        name: 'bad',
        parent_id: 'agg',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'gpu' },
      },
    ]);
    failed(byName('bad'));
    const result = completed<{ results: Json; result_count: number }>(byName('agg'));
    assert.deepEqual(Object.keys(result.results), [byName('ok').id]);
    assert.equal(result.result_count, 1);
  });

  test('with no dependencies it aggregates its own inputs', async (t) => {
    const app = await testApp(t);
    const inputs = { first: { value: 1 }, second: 'two', third: [3] };
    const result = completed<{ summary: string; results: Json; result_count: number }>(
      await runOne(app, 'aggregate_results_executor', inputs),
    );
    assert.equal(result.summary, 'Task Results Aggregation');
    assert.deepEqual(result.results, inputs);
    assert.equal(result.result_count, 3);
  });
});

/** What the test server saw of one request. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Settles when the connection of this request closes. */
  closed: Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1: `/fail` answers 500 with JSON, `/text` plain text, `/hang`
 * never answers, anything else echoes the request as JSON.
 */
async function startServer(t: TestContext): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        closed,
      });
      if (url.pathname === '/hang') return;
      if (url.pathname === '/fail') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'boom' }));
      } else if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('plain text, not JSON');
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'test' });
        res.end(
          JSON.stringify({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body }),
        );
      }
    });
  });
  return { base: `http://127.0.0.1:${await listenLocal(t, server)}`, seen };
}

interface RestResult {
  url: string;
  method: string;
  status_code: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  success: boolean;
}

// The test servers listen on 127.0.0.1, which the outbound policy refuses unless allowed.
const localTargets = { outbound: { allow_hosts: ['127.0.0.1'] } };

describe('rest_executor', () => {
  test('GET sends query params and headers; the result carries status, headers and parsed JSON', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const result = completed<RestResult>(
      await runOne(app, 'rest_executor', {
        url: `${base}/echo?keep=1`,
        params: { q: 'a b', n: 2, flag: true },
        headers: { 'X-Test': 'yes' },
      }),
    );
    assert.equal(seen.length, 1);
    const [request] = seen as [Seen];
    assert.equal(request.method, 'GET');
    assert.equal(request.path, '/echo');
    assert.deepEqual(Object.fromEntries(request.query), { keep: '1', q: 'a b', n: '2', flag: 'true' });
    assert.equal(request.headers['x-test'], 'yes');
    assert.equal(request.body, '');
    assert.equal(result.method, 'GET');
    assert.equal(result.status_code, 200);
    assert.equal(result.success, true);
    assert.equal(new URL(result.url).searchParams.get('q'), 'a b');
    assert.equal(result.headers['x-served-by'], 'test');
    assert.match(result.headers['content-type'] ?? '', /application\/json/);
    assert.deepEqual(result.json, JSON.parse(result.body));
    assert.deepEqual(result.json, {
      method: 'GET',
      path: '/echo',
      query: { keep: '1', q: 'a b', n: '2', flag: 'true' },
      body: '',
    });
  });

  test('json bodies are POSTed as application/json; data is sent as given', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const posted = completed<RestResult>(
      await runOne(app, 'rest_executor', { url: `${base}/items`, method: 'POST', json: { name: 'Ada', tags: [1, 2] } }),
    );
    assert.equal(posted.method, 'POST');
    assert.equal(seen[0]?.method, 'POST');
    assert.match(seen[0]?.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { name: 'Ada', tags: [1, 2] });

    const implicit = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/items`, json: [1] }));
    assert.equal(implicit.method, 'POST', 'a body without a method is a POST');
    assert.equal(seen[1]?.method, 'POST');

    completed(
      await runOne(app, 'rest_executor', {
        url: `${base}/items/1`,
        method: 'PUT',
        data: 'raw=1',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    assert.equal(seen[2]?.method, 'PUT');
    assert.equal(seen[2]?.body, 'raw=1');
    assert.equal(seen[2]?.headers['content-type'], 'text/plain');
  });

  test('bearer, basic and API-key (header or query) auth arrive as the server expects', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const call = async (auth: Json) => {
      completed(await runOne(app, 'rest_executor', { url: `${base}/secure`, auth }));
      return seen.at(-1) as Seen;
    };
    assert.equal((await call({ type: 'bearer', token: 'tok-123' })).headers.authorization, 'Bearer tok-123');
    const basic = await call({ type: 'basic', username: 'ada', password: 'p:ss wörd' });
    assert.equal(basic.headers.authorization, `Basic ${Buffer.from('ada:p:ss wörd').toString('base64')}`);
    const header = await call({ type: 'apikey', key: 'X-Api-Key', value: 'k1' });
    assert.equal(header.headers['x-api-key'], 'k1');
    assert.equal(header.query.get('X-Api-Key'), null);
    const query = await call({ type: 'apikey', key: 'api_key', value: 'k 2', location: 'query' });
    assert.equal(query.query.get('api_key'), 'k 2');
    assert.equal(query.headers.api_key, undefined);
    assert.equal(query.headers.authorization, undefined);
  });

  test('an HTTP error status is a completed task with success false', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startServer(t);
    const result = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/fail` }));
    assert.equal(result.status_code, 500);
    assert.equal(result.success, false);
    assert.deepEqual(result.json, { error: 'boom' });
  });

  test('a body that is not JSON gives json null and the text in body', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startServer(t);
    const result = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/text` }));
    assert.equal(result.json, null);
    assert.equal(result.body, 'plain text, not JSON');
    assert.equal(result.success, true);
  });

  test('a server that never answers fails the task after the timeout, and the connection is dropped', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const error = failed(await runOne(app, 'rest_executor', { url: `${base}/hang`, timeout: 0.2 }));
    assert.match(error, /timed out after 0\.2s/);
    assert.ok(error.includes(`${base}/hang`), error);
    await within(
      seen[0]?.closed ?? Promise.reject(new Error('no request')),
      5000,
      'the server seeing the connection close',
    );
  });

  test('a refused connection fails the task with the cause', async (t) => {
    const app = await testApp(t, localTargets);
    const url = `http://127.0.0.1:${await freePort()}/nothing`;
    const error = failed(await runOne(app, 'rest_executor', { url }));
    assert.ok(error.includes(url), error);
    assert.match(error, /ECONNREFUSED/);
  });

  test('a url that is not http(s) fails input validation', async (t) => {
    const app = await testApp(t, localTargets);
    for (const url of ['ftp://x', 'x']) {
      assert.match(
        failed(await runOne(app, 'rest_executor', { url })),
        /^Invalid inputs for executor 'rest_executor': .*url/,
      );
    }
    assert.match(failed(await runOne(app, 'rest_executor', {})), /^Invalid inputs for executor 'rest_executor': .*url/);
  });

  test('cancelling the task aborts the request in flight', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const tree = await app.engine.createTree([
      { name: 'call', schemas: { method: 'rest_executor' }, inputs: { url: `${base}/hang` } },
    ]);
    const { done } = await app.engine.execute(tree.id);
    await eventually(() => seen.length === 1);
    assert.deepEqual(await app.engine.cancel([tree.id]), [
      { task_id: tree.id, status: 'cancelled', message: 'Cancelled by user' },
    ]);
    assert.equal((await done).status, 'cancelled');
    await within((seen[0] as Seen).closed, 5000, 'the server seeing the connection close');
    assert.equal((await app.tasks.get(tree.id))?.status, 'cancelled');
  });
});

const commandEnvNames = [
  'APFLOW_STDIO_ALLOW_COMMAND',
  'AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND',
  'APFLOW_STDIO_COMMAND_WHITELIST',
  'AIPARTNERUPFLOW_STDIO_COMMAND_WHITELIST',
] as const;

/**
 * An app built while the command variables of process.env are exactly `env` (the plugin reads
 * them at setup); process.env is restored afterwards.
 */
async function commandApp(
  t: TestContext,
  env: Partial<Record<(typeof commandEnvNames)[number], string>>,
  command?: Json,
): Promise<App> {
  const saved = new Map(commandEnvNames.map((name) => [name, process.env[name]]));
  for (const name of commandEnvNames) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  try {
    return await testApp(t, command ? { builtin_executors: { command } } : {});
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

interface CommandResult {
  command: string;
  return_code: number;
  stdout: string;
  stderr: string;
  success: boolean;
}

describe('command_executor', () => {
  const allowed = { enabled: true, allow: ['echo', 'node'] };

  test('is disabled by default, and the failure says how to enable it', async (t) => {
    const app = await commandApp(t, {});
    const error = failed(await runOne(app, 'command_executor', { command: 'echo hi' }));
    assert.match(
      error,
      /^command_executor is disabled: set builtin_executors\.command\.enabled: true \(or APFLOW_STDIO_ALLOW_COMMAND=1\)/,
    );
  });

  test('runs a program with quoted arguments and returns its output', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: 'echo hello "big world"' }),
    );
    assert.deepEqual(result, {
      command: 'echo hello "big world"',
      return_code: 0,
      stdout: 'hello big world\n',
      stderr: '',
      success: true,
    });
    const array = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: ['echo', "it's", 'a b'], args: ['c'] }),
    );
    assert.equal(array.stdout, "it's a b c\n");
    assert.equal(array.command, `echo 'it'"'"'s' 'a b' c`, 'the command shown splits back into the same words');
  });

  test("a command does not see the server's secrets in its environment, and a refusal is not retried", async (t) => {
    const app = await commandApp(t, {}, allowed);
    process.env.APFLOW_JWT_SECRET = 'super-secret-jwt';
    t.after(() => delete process.env.APFLOW_JWT_SECRET);
    const script = 'console.log(process.env.APFLOW_JWT_SECRET ?? "none", typeof process.env.PATH)';
    const result = completed<CommandResult>(await runOne(app, 'command_executor', { command: ['node', '-e', script] }));
    assert.equal(result.stdout, 'none string\n');
    const { byName } = await runTree(app, [
      {
        name: 'refused',
        schemas: { method: 'command_executor' },
        inputs: { command: 'cat /etc/passwd' },
        params: { retries: 3 },
      },
    ]);
    assert.match(failed(byName('refused')), /not in the allowlist/);
    assert.equal(byName('refused').attempts, 1, 'a refusal fails at once, whatever params.retries says');
  });

  test('the cwd input sets the working directory', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const dir = tmpdir();
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', {
        command: ['node', '-e', 'process.stdout.write(process.cwd())'],
        cwd: dir,
      }),
    );
    assert.equal(result.stdout, dir);
  });

  test('a program outside the allowlist is refused by name, also when given as a path', async (t) => {
    const app = await commandApp(t, {}, allowed);
    assert.match(
      failed(await runOne(app, 'command_executor', { command: 'cat /etc/hostname' })),
      /^command 'cat' is not in the allowlist \(echo, node\)$/,
    );
    assert.match(
      failed(await runOne(app, 'command_executor', { command: '/bin/cat /etc/hostname' })),
      /^command '\/bin\/cat' is not in the allowlist/,
    );
    // A path ending in an allowed name is another program.
    assert.match(
      failed(await runOne(app, 'command_executor', { command: '/tmp/echo hi' })),
      /^command '\/tmp\/echo' is not in the allowlist/,
    );
  });

  test('shell metacharacters are passed literally, never interpreted', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const marker = join(tmpdir(), `apflow-shell-${randomUUID()}`);
    const line = `echo $HOME; touch ${marker} && $(touch ${marker}) | cat > ${marker} \`id\``;
    const result = completed<CommandResult>(await runOne(app, 'command_executor', { command: line }));
    assert.equal(result.stdout, `$HOME; touch ${marker} && $(touch ${marker}) | cat > ${marker} \`id\`\n`);
    assert.equal(existsSync(marker), false, 'no shell ran the touch');
  });

  test('a non-zero exit is a completed task with its return code and success false', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const result = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: 'node -e "process.stderr.write(\'bad\'); process.exit(3)"' }),
    );
    assert.equal(result.return_code, 3);
    assert.equal(result.success, false);
    assert.equal(result.stderr, 'bad');
    const killed = completed<CommandResult>(
      await runOne(app, 'command_executor', { command: `node -e "process.kill(process.pid, 'SIGKILL')"` }),
    );
    assert.equal(killed.return_code, -9, 'killed by a signal: minus the signal number');
    assert.equal(killed.success, false);
  });

  test('APFLOW_STDIO_ALLOW_COMMAND or its alias enables it when the config does not say', async (t) => {
    for (const env of [
      { APFLOW_STDIO_ALLOW_COMMAND: '1' },
      { AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: '1' },
      { AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: 'yes' },
    ]) {
      const app = await commandApp(t, env);
      assert.equal(
        completed<CommandResult>(await runOne(app, 'command_executor', { command: 'echo on' })).stdout,
        'on\n',
        JSON.stringify(env),
      );
    }
    const off = await commandApp(t, { APFLOW_STDIO_ALLOW_COMMAND: '1' }, { enabled: false });
    assert.match(
      failed(await runOne(off, 'command_executor', { command: 'echo on' })),
      /disabled/,
      'the config wins over the environment',
    );
    const emptyFirst = await commandApp(t, {
      APFLOW_STDIO_ALLOW_COMMAND: '',
      AIPARTNERUPFLOW_STDIO_ALLOW_COMMAND: '1',
    });
    completed(await runOne(emptyFirst, 'command_executor', { command: 'echo on' }));
    const listed = await commandApp(t, {
      APFLOW_STDIO_ALLOW_COMMAND: 'true',
      APFLOW_STDIO_COMMAND_WHITELIST: 'echo, ls',
    });
    completed(await runOne(listed, 'command_executor', { command: 'echo on' }));
    assert.match(
      failed(await runOne(listed, 'command_executor', { command: 'node -v' })),
      /^command 'node' is not in the allowlist \(echo, ls\)$/,
    );
  });

  test('an unclosed quote fails with a clear message', async (t) => {
    const app = await commandApp(t, {}, allowed);
    assert.equal(
      failed(await runOne(app, 'command_executor', { command: 'echo "oops' })),
      'command has an unclosed " quote',
    );
    assert.equal(failed(await runOne(app, 'command_executor', { command: '   ' })), 'command is empty');
  });

  test('a program that cannot start, or floods its output, fails the task', async (t) => {
    const app = await commandApp(t, {}, { enabled: true, allow: [] });
    const error = failed(await runOne(app, 'command_executor', { command: `apflow-no-such-program-${randomUUID()}` }));
    assert.match(error, /^cannot run 'apflow-no-such-program-[\w-]+': ENOENT$/);
    const flood = failed(
      await runOne(app, 'command_executor', {
        command: ['node', '-e', "process.stdout.write('x'.repeat(11 * 1024 * 1024))"],
      }),
    );
    assert.equal(flood, 'command failed: stdout maxBuffer length exceeded');
  });

  /** A node program that ignores SIGTERM, writes its pid to `file` and never ends. */
  const stubborn = (file: string) => [
    'node',
    '-e',
    `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(file)}, String(process.pid)); setInterval(() => {}, 1000)`,
  ];
  const gone = processGone;

  test('a program running past its timeout is killed and the task fails naming the timeout', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const error = failed(
      await runOne(app, 'command_executor', { command: 'node -e "setTimeout(() => {}, 10000)"', timeout: 0.3 }),
    );
    assert.equal(error, 'command timed out after 0.3s: node -e "setTimeout(() => {}, 10000)"');
    const pidFile = join(tmpdir(), `apflow-pid-${randomUUID()}`);
    t.after(() => rmSync(pidFile, { force: true }));
    assert.match(
      failed(await runOne(app, 'command_executor', { command: stubborn(pidFile), timeout: 0.5 })),
      /^command timed out after 0\.5s: node -e /,
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(() => gone(pid));
  });

  test('cancelling the task kills the program', async (t) => {
    const app = await commandApp(t, {}, allowed);
    const pidFile = join(tmpdir(), `apflow-pid-${randomUUID()}`);
    t.after(() => rmSync(pidFile, { force: true }));
    const tree = await app.engine.createTree([
      { name: 'run', schemas: { method: 'command_executor' }, inputs: { command: stubborn(pidFile) } },
    ]);
    const { done } = await app.engine.execute(tree.id);
    const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0));
    assert.equal((await app.engine.cancel([tree.id]))[0]?.status, 'cancelled');
    assert.equal((await done).status, 'cancelled');
    await eventually(() => gone(pid));
  });
});

test('the four built-in executors are listed by system.executors', async (t) => {
  const app = await testApp(t);
  const response = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 1, method: 'system.executors' },
  });
  assert.equal(response.statusCode, 200);
  const { executors } = response.json().result as {
    executors: { id: string; name: string; description: string; source: string }[];
  };
  for (const id of ['system_info_executor', 'aggregate_results_executor', 'rest_executor', 'command_executor']) {
    const entry = executors.find((executor) => executor.id === id);
    assert.ok(entry, `${id} is listed`);
    assert.equal(entry.source, 'plugin:builtin-executors');
    assert.ok(entry.name && entry.description, `${id} has a name and a description`);
  }
});
