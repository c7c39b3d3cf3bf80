/**
 * An engine turn of completed tasks on PostgreSQL sends the roots' lock, the endings, the claim
 * of ready tasks and the parents' probe as one pipeline, before any answer (write-reports.ts,
 * claim-ready.ts, settle-run.ts). What it read ahead is used only while nothing that may write
 * was sent since (tree-tx.test.ts); the tree still runs every task once, each once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { testDatabases } from '../databases.ts';
import { started } from '../helpers.ts';
import { engineApp } from './engine-setup.ts';
import { traceStatements, type SentStatement as Sent } from '../statement-trace.ts';

/** Each transaction's statements, from BEGIN to COMMIT, per client. */
function transactions(trace: Sent[]): Sent[][] {
  const open = new Map<pg.Client, Sent[]>();
  const done: Sent[][] = [];
  for (const sent of trace) {
    if (sent.text.startsWith('BEGIN')) open.set(sent.client, []);
    const current = open.get(sent.client);
    if (!current) continue;
    current.push(sent);
    if (sent.text === 'COMMIT') {
      done.push(current);
      open.delete(sent.client);
    }
  }
  return done;
}

const isEndings = (sent: Sent) => /^UPDATE apflow_tasks SET completed_at/.test(sent.text);
const isProbe = (sent: Sent) => /^SELECT p\.id, \(SELECT 1 FROM apflow_tasks c/.test(sent.text);
const isClaimAhead = (sent: Sent) => /^WITH picked AS \(SELECT id AS pick_id/.test(sent.text);
const isClaim = (sent: Sent) => /^UPDATE apflow_tasks SET status = 'in_progress'/.test(sent.text);

for (const db of testDatabases().filter((each) => each.name === 'postgres')) {
  test('on PostgreSQL a turn sends its lock, endings, claim and probe in one round trip', async (t) => {
    const app = await engineApp(t, await db.create(t), { concurrency: 4 });
    const children = Array.from({ length: 12 }, (_, i) => ({
      id: `p-c${i}`,
      name: `c${i}`,
      parent_id: 'p-mid',
      schemas: { method: 'noop' },
    }));
    await app.engine.createTree([
      { id: 'p-root', name: 'root', schemas: { method: 'noop' } },
      { id: 'p-mid', name: 'mid', parent_id: 'p-root', schemas: { method: 'noop' } },
      ...children,
    ]);
    const { value: outcome, trace } = await traceStatements(
      async () => started(await app.engine.execute('p-root')).done,
    );
    assert.equal(outcome.status, 'completed');
    for (const row of await app.tasks.tree('p-root')) {
      assert.equal(row.status, 'completed', row.id);
      assert.equal(row.attempts, 1, `${row.id} ran once`);
    }

    const turns = transactions(trace).filter((tx) => tx.some(isEndings));
    const ahead = turns.filter((tx) => {
      const [lock, endings] = [tx[1] as Sent, tx.find(isEndings) as Sent];
      const probe = tx.find(isProbe);
      const claim = tx.find(isClaimAhead);
      return (
        /FOR UPDATE$/.test(lock.text) &&
        [endings, probe, claim].every((sent) => sent && sent.sent < (lock.answered ?? 0))
      );
    });
    assert.ok(ahead.length > 0, 'some turn sent its lock, endings, claim and probe before the lock was answered');
    // ...and its claim was that one statement: no claim UPDATE after it.
    assert.ok(
      ahead.some((tx) => !tx.some(isClaim)),
      'a turn claimed in the statement it sent ahead',
    );
  });
}
