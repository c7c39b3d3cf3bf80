/** The statements this process's pg clients send while some work runs, with when each went and came back. */
import pg from 'pg';

/** A statement a pg client sent: on which client, its text, and its place in the trace's clock. */
export interface SentStatement {
  client: pg.Client;
  text: string;
  /** When it was handed to the client (a tick of the trace's clock). */
  sent: number;
  /** When its answer (or error) came back; unset if it never did. */
  answered?: number;
}

/**
 * Runs `work` with every pg client's `query` traced (this process only, restored after): each
 * statement's text, and ticks of one clock for its send and its answer, so a test can tell
 * whether a statement went out before the answer to an earlier one (pipelining). `work` is given
 * the trace as it grows.
 */
export async function traceStatements<T>(
  work: (trace: readonly SentStatement[]) => Promise<T>,
): Promise<{ value: T; trace: SentStatement[] }> {
  const trace: SentStatement[] = [];
  let clock = 0;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const entry: SentStatement = {
      client: this,
      text: typeof config === 'string' ? config : (config.text ?? ''),
      sent: ++clock,
    };
    trace.push(entry);
    const answer = (query as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    const done = () => void (entry.answered = ++clock);
    answer.then(done, done);
    return answer;
  } as typeof query;
  try {
    return { value: await work(trace), trace };
  } finally {
    pg.Client.prototype.query = query;
  }
}
