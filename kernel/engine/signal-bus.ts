import cluster from 'node:cluster';
import type Pg from 'pg';
import { lazyRequire } from '../internal/lazy-require.ts';
import type { Logger } from '../internal/logger.ts';
import type { SqlRunner } from '../storage/sql.ts';

/** node-postgres, read only by a server on PostgreSQL. */
const pg = lazyRequire<typeof Pg>('pg');

/**
 * What engines tell each other after a commit: `e` trees whose event log grew (root id, last
 * seq), `r` tasks became ready that the sender did not take, `c` running tasks were cancelled.
 * Signals only wake; the database stays the truth, so a lost signal costs time, never data.
 */
export interface EngineSignal {
  /** The sending engine. */
  o: string;
  e?: [string, number][];
  r?: 1;
  c?: string[];
}

/** A select list and its parameters (see {@link SignalBus.inTransaction}). */
export interface SqlNotice {
  select: string;
  params: unknown[];
}

/** How engines sharing a database reach each other. */
export interface SignalBus {
  /** `listen` (PostgreSQL), `cluster` (the cluster primary relays), or `none` (one process). */
  readonly kind: 'listen' | 'cluster' | 'none';
  /** Sends with the transaction (delivered when it commits); PostgreSQL only. */
  sendInTransaction(runner: SqlRunner, signal: EngineSignal): Promise<void>;
  /**
   * What sends `signal` with the transaction as the select list of a statement (`pg_notify(?, ?), …`
   * and its parameters), to ride on a statement the transaction runs anyway; null when this bus
   * sends after the commit instead.
   */
  inTransaction(signal: EngineSignal): SqlNotice | null;
  /** Sends after the commit (the cluster relay). */
  sendAfterCommit(signal: EngineSignal): void;
  /** Hears other engines' signals; `null` means some may have been lost (reconnected). */
  onSignal(listener: (signal: EngineSignal | null) => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = 'apflow_signals';
/** Trees per notification: keeps a payload well under PostgreSQL's 8000 bytes. */
const TREES_PER_SIGNAL = 40;

/** Splits a signal into payloads PostgreSQL accepts. */
function pieces(signal: EngineSignal): EngineSignal[] {
  const trees = signal.e ?? [];
  if (trees.length <= TREES_PER_SIGNAL && (signal.c?.length ?? 0) <= 100) return [signal];
  const out: EngineSignal[] = [];
  for (let i = 0; i < trees.length; i += TREES_PER_SIGNAL)
    out.push({ o: signal.o, e: trees.slice(i, i + TREES_PER_SIGNAL) });
  for (let i = 0; i < (signal.c?.length ?? 0); i += 100) out.push({ o: signal.o, c: signal.c?.slice(i, i + 100) });
  if (signal.r) out.push({ o: signal.o, r: 1 });
  return out;
}

/** `pg_notify` for every piece of `signal`, in one select list: a turn of a hundred trees needs several. */
function notify(signal: EngineSignal): SqlNotice {
  const sent = pieces(signal).map((piece) => JSON.stringify(piece));
  return { select: sent.map(() => 'pg_notify(?, ?)').join(', '), params: sent.flatMap((text) => [CHANNEL, text]) };
}

/**
 * The bus for this database and process: PostgreSQL `LISTEN`/`NOTIFY` (a dedicated connection
 * that reconnects), the cluster primary's relay for `--workers N` on SQLite, or nothing.
 */
export async function createSignalBus(options: {
  dialect: 'sqlite' | 'postgres';
  url: string;
  log: Logger;
}): Promise<SignalBus> {
  const listeners = new Set<(signal: EngineSignal | null) => void>();
  const hear = (signal: EngineSignal | null) => {
    for (const listener of listeners) listener(signal);
  };
  const onSignal = (listener: (signal: EngineSignal | null) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  if (options.dialect === 'postgres') return listenBus(options, hear, onSignal);
  if (cluster.isWorker && process.send) {
    const onMessage = (message: { type?: string; signal?: EngineSignal }) => {
      if (message?.type === 'apflow:signal' && message.signal) hear(message.signal);
    };
    process.on('message', onMessage);
    return {
      kind: 'cluster',
      sendInTransaction: async () => undefined,
      inTransaction: () => null,
      sendAfterCommit: (signal) => void process.send?.({ type: 'apflow:signal', signal }),
      onSignal,
      close: async () => void process.off('message', onMessage),
    };
  }
  return {
    kind: 'none',
    sendInTransaction: async () => undefined,
    inTransaction: () => null,
    sendAfterCommit: () => undefined,
    onSignal,
    close: async () => undefined,
  };
}

async function listenBus(
  options: { url: string; log: Logger },
  hear: (signal: EngineSignal | null) => void,
  onSignal: SignalBus['onSignal'],
): Promise<SignalBus> {
  let client: Pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (again: boolean): Promise<void> => {
    const next = new (pg().Client)({ connectionString: options.url });
    next.on('notification', (message) => {
      try {
        hear(JSON.parse(message.payload ?? '') as EngineSignal);
      } catch {
        // Not ours; nothing else writes to this channel.
      }
    });
    next.on('error', (error) => {
      options.log.warn({ err: error }, 'lost the signal connection; reconnecting');
      void next.end().catch(() => undefined);
      if (client === next) client = undefined;
      schedule();
    });
    await next.connect();
    await next.query(`LISTEN ${CHANNEL}`);
    if (closed) return void (await next.end().catch(() => undefined));
    client = next;
    // Signals sent while disconnected are gone: say so, and the engine looks at the database.
    if (again) hear(null);
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect(true).catch((error: unknown) => {
        options.log.warn({ err: error }, 'signal connection failed; retrying');
        schedule();
      });
    }, 1000);
    retry.unref();
  };
  await connect(false);
  return {
    kind: 'listen',
    async sendInTransaction(runner, signal) {
      const notice = notify(signal);
      await runner.run(`SELECT ${notice.select}`, notice.params);
    },
    inTransaction: notify,
    sendAfterCommit: () => undefined,
    onSignal,
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
