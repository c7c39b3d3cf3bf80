// What BullMQ's Redis promises in the `peers` scenario (issue 27). The bench has one Redis server
// (append-only on); `appendfsync` is switched at run time before each BullMQ measurement so that
// each figure is taken under the promise of the apflow setting it is paired with:
//   everysec — the append-only file fsynced once a second (a power loss may lose the last second);
//   always   — fsynced before Redis answers the writes of each event-loop turn (nothing acknowledged
//              is lost), as SQLite `synchronous=full` or PostgreSQL `synchronous_commit=on` do.
// The setting found first is put back at the end (the server may be the user's: BENCH_REDIS_URL).
import { Redis } from 'ioredis';
import { redisOptions, redisUrl, sleep } from './peers-common.ts';

/** The two `appendfsync` modes the pairs need. */
export type Appendfsync = 'everysec' | 'always';

/** `appendfsync` as found before the scenario changed it. */
let original: string | undefined;

async function withRedis<T>(work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ ...redisOptions(), maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

async function configGet(client: Redis, name: string): Promise<string> {
  const reply = (await client.config('GET', name)) as string[];
  return reply[1] ?? '';
}

/** The fields of `INFO persistence` as numbers. */
async function persistence(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('persistence');
  return Object.fromEntries(
    info
      .split('\r\n')
      .map((line) => line.split(':'))
      .filter((pair) => pair.length === 2)
      .map(([name, value]) => [name, Number(value)]),
  );
}

/**
 * Rewrites the append-only file while it holds only what earlier (flushed) measurements left, so
 * that Redis does not start its own rewrite (at 64 MB) in the middle of a measurement: each
 * BullMQ figure starts from a small file, as on a fresh server.
 */
async function compact(client: Redis): Promise<void> {
  let state = await persistence(client);
  if ((state.aof_current_size ?? 0) < 1_000_000 || state.aof_rewrite_in_progress) return;
  await client.bgrewriteaof();
  const end = Date.now() + 30_000;
  do {
    await sleep(20);
    state = await persistence(client);
  } while ((state.aof_rewrite_in_progress || state.aof_rewrite_scheduled) && Date.now() < end);
}

/**
 * Sets Redis's `appendfsync` to `mode` and reads it back. Fails when Redis keeps no append-only
 * file: it would then promise nothing after a crash, and no pair would be equal.
 */
export async function setAppendfsync(mode: Appendfsync): Promise<void> {
  await withRedis(async (client) => {
    const appendonly = await configGet(client, 'appendonly');
    if (appendonly !== 'yes')
      throw new Error(
        `Redis at ${new URL(redisUrl).host} keeps no append-only file (appendonly ${appendonly}): start it with APFLOW_TEST_REDIS_APPENDONLY=yes (npm run bench does)`,
      );
    const current = await configGet(client, 'appendfsync');
    original ??= current;
    if (current !== mode) await client.config('SET', 'appendfsync', mode);
    const now = await configGet(client, 'appendfsync');
    if (now !== mode) throw new Error(`Redis kept appendfsync ${now} after CONFIG SET appendfsync ${mode}`);
    await compact(client);
  });
}

/** What Redis promises now, as it reports it (`CONFIG GET`): `appendfsync=always`, or `appendonly=no`. */
export async function redisDurability(): Promise<string> {
  return withRedis(async (client) => {
    const appendonly = await configGet(client, 'appendonly');
    return appendonly === 'yes' ? `appendfsync=${await configGet(client, 'appendfsync')}` : `appendonly=${appendonly}`;
  });
}

/** Puts back the `appendfsync` found before the scenario's first change (nothing when none). */
export async function restoreAppendfsync(): Promise<void> {
  if (original === undefined) return;
  const mode = original;
  await withRedis(async (client) => {
    await client.config('SET', 'appendfsync', mode);
  });
}
