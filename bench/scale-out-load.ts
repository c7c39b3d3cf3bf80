// The client side of the `scale-out` scenario: submits trees of no-op tasks over HTTP JSON-RPC
// (`tasks.create`, then `tasks.execute`) and times them until every root is terminal.
import { Agent, request } from 'node:http';

/** A JSON-RPC caller of one server's `POST /tasks`. */
interface RpcClient {
  url: string;
  call(method: string, params: unknown): Promise<unknown>;
  batch(calls: { method: string; params: unknown }[]): Promise<unknown[]>;
  close(): void;
}

function createRpcClient(base: string): RpcClient {
  const url = new URL(base);
  // One keep-alive connection per tree in flight: node:cluster hands connections to the workers
  // in turn, so concurrent trees spread over them.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let counter = 0;
  const post = (body: string) =>
    new Promise<unknown>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/tasks',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (chunk: Buffer) => parts.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            if (res.statusCode !== 200)
              return reject(new Error(`${base}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const unwrap = (answer: unknown) => {
    const { result, error } = answer as { result?: unknown; error?: { message?: string } };
    if (error) throw new Error(`${base}: JSON-RPC error: ${error.message ?? JSON.stringify(error)}`);
    return result;
  };
  return {
    url: base,
    call: async (method, params) =>
      unwrap(await post(JSON.stringify({ jsonrpc: '2.0', id: ++counter, method, params }))),
    batch: async (calls) =>
      (
        (await post(JSON.stringify(calls.map((each) => ({ jsonrpc: '2.0', id: ++counter, ...each }))))) as unknown[]
      ).map(unwrap),
    close: () => agent.destroy(),
  };
}

const terminal = new Set(['completed', 'failed', 'cancelled']);

/** What one round measured. */
export interface RoundResult {
  tasks: number;
  ms: number;
  tasks_per_s: number;
}

/**
 * Submits `trees` trees (a root and `tasks - 1` no-op children each, ids prefixed by `prefix`)
 * to `urls` in turn, all at once, each `tasks.create` then `tasks.execute` (which answers when
 * the tree is done), and times it from the first submit until every root is terminal (should an
 * execute answer before the end, the roots are polled every 50 ms). Then checks every root
 * completed and that the database holds `expectedCompleted` completed tasks and none pending,
 * running or failed.
 */
export async function runRound(options: {
  urls: string[];
  trees: number;
  tasks: number;
  prefix: string;
  expectedCompleted: number;
  timeoutMs?: number;
}): Promise<RoundResult> {
  const clients = options.urls.map(createRpcClient);
  const bodies = Array.from({ length: options.trees }, (_, t) => {
    const rootId = `${options.prefix}-${t}`;
    const tasks = [{ id: rootId, name: rootId, schemas: { method: 'bench_noop' } }];
    for (let i = 1; i < options.tasks; i++)
      tasks.push({
        id: `${rootId}-${i}`,
        name: `${rootId}-${i}`,
        parent_id: rootId,
        schemas: { method: 'bench_noop' },
      } as (typeof tasks)[number]);
    return { rootId, client: clients[t % clients.length] as RpcClient, tasks };
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`round ${options.prefix} did not end within ${options.timeoutMs ?? 120_000} ms`)),
      options.timeoutMs ?? 120_000,
    );
  });
  try {
    const start = performance.now();
    const measure = async () => {
      const statuses = await Promise.all(
        bodies.map(async ({ rootId, client, tasks }) => {
          await client.call('tasks.create', tasks);
          return ((await client.call('tasks.execute', { task_id: rootId })) as { status?: string }).status;
        }),
      );
      let end = performance.now();
      let open = bodies.filter((_, i) => !terminal.has(statuses[i] as string));
      while (open.length) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const roots = await Promise.all(
          open.map(({ rootId, client }) => client.call('tasks.get', { task_id: rootId })),
        );
        end = performance.now();
        open = open.filter((_, i) => !terminal.has((roots[i] as { status?: string } | null)?.status as string));
      }
      return end - start;
    };
    const ms = await Promise.race([measure(), timeout]);
    await check(clients[0] as RpcClient, bodies, options.expectedCompleted);
    const tasks = options.trees * options.tasks;
    return { tasks, ms: Math.round(ms), tasks_per_s: Math.round(tasks / (ms / 1000)) };
  } finally {
    clearTimeout(timer);
    for (const client of clients) client.close();
  }
}

/** Every root completed, and so did every task of the database (none left behind or failed). */
async function check(client: RpcClient, bodies: { rootId: string }[], expectedCompleted: number): Promise<void> {
  const roots = (await client.batch(
    bodies.map(({ rootId }) => ({ method: 'tasks.get', params: { task_id: rootId } })),
  )) as ({ status?: string; error?: unknown } | null)[];
  const failed = roots
    .map((root, i) => ({ id: bodies[i]?.rootId, status: root?.status, error: root?.error }))
    .filter(({ status }) => status !== 'completed');
  if (failed.length)
    throw new Error(
      `${failed.length} of ${bodies.length} trees did not complete, e.g. ${JSON.stringify(failed.slice(0, 3))}`,
    );
  const count = (await client.call('tasks.count', {})) as Record<string, number>;
  if (count.completed !== expectedCompleted || count.pending || count.in_progress || count.failed || count.cancelled) {
    throw new Error(
      `after the round the database counts ${JSON.stringify(count)}; expected ${expectedCompleted} completed and nothing else`,
    );
  }
}
