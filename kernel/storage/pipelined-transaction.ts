import type { Rows } from './sql-driver.ts';
import type { SqlRunner } from './sql.ts';

/** Sends one statement on the transaction's connection (answered in the order sent). */
type Send = (sql: string, params: unknown[]) => Promise<Rows>;

/**
 * The statements of one PostgreSQL transaction on a pipelined connection (node-postgres'
 * `pipeline` mode: a statement is written at once, without waiting for the answers before it).
 * BEGIN and every write whose rows nobody reads (`run`) are sent and not waited for; the next
 * read, or COMMIT, goes out right behind them and waits for them all. So BEGIN travels with the
 * transaction's first read and its last writes with COMMIT, and writes made before a read (the
 * changes a claim syncs first) with that read: an engine turn takes two or three round trips
 * fewer. A write that fails makes PostgreSQL refuse what follows in the transaction: its error
 * is the one thrown, at the next read or at the commit.
 */
export function pipelinedTransaction(send: Send, begin: string) {
  let unanswered: Promise<unknown>[] = [];
  const behind = (answer: Promise<unknown>) => {
    // Waited for at the next read or commit; until then a failure must not count as unhandled.
    answer.catch(() => undefined);
    unanswered.push(answer);
  };
  /** Waits for the statements sent before; throws the first failure among them. */
  const answered = async () => {
    if (unanswered.length === 0) return;
    const waiting = unanswered;
    unanswered = [];
    await Promise.all(waiting);
  };
  // BEGIN is answered before anything sent behind it, so its failure is the one thrown. (Only a
  // connection going away makes it fail, and then what follows fails too; a BEGIN refused on a
  // live connection would leave the first statement behind it running on its own.)
  behind(send(begin, []));

  const runner: SqlRunner = {
    async select<T>(sql: string, params: unknown[] = []) {
      const rows = send(sql, params);
      rows.catch(() => undefined);
      await answered();
      // The caller names the row type: the database does not say it.
      return (await rows) as T[];
    },
    run: async (sql, params = []) => behind(send(sql, params)),
  };

  return {
    runner,
    /**
     * Sends COMMIT behind the writes not answered yet, then waits for all. When one of them
     * failed, PostgreSQL answered the COMMIT by rolling back: that failure is thrown, as from a
     * read. `commitFailed` judges a failure of the COMMIT itself (a lost connection may have
     * left the commit unknown).
     */
    async commit(commitFailed: (error: unknown) => unknown): Promise<void> {
      const commit = send('COMMIT', []);
      commit.catch(() => undefined);
      const before = await Promise.allSettled(unanswered.splice(0));
      const committed = await commit.then(
        () => true,
        (error: unknown) => {
          throw commitFailed(error);
        },
      );
      const failed = before.find((outcome) => outcome.status === 'rejected');
      if (committed && failed) throw failed.reason;
    },
    /** Waits out what is still in flight (after a failure, before ROLLBACK). */
    settle: () => Promise.allSettled(unanswered.splice(0)),
  };
}
