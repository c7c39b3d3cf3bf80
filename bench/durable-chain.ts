import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The machine's floor for a chain whose every step must be durable before the next starts: a
 * raw better-sqlite3 connection (WAL, `synchronous=FULL`, like apflow) committing `steps` transactions
 * one after the other, each ending one task, claiming the next and appending an event. What it
 * leaves out: executors, locks, leases, readiness, signals — everything but the commits.
 */
export async function durableChainMs(steps: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-floor-'));
  const db = new Database(join(dir, 'floor.sqlite'));
  // A step's statements wait for each other as apflow's do (one event-loop turn apart).
  const run = async (sql: string, params: unknown[] = []) => void db.prepare(sql).run(params);
  try {
    await run('PRAGMA journal_mode = WAL');
    await run('PRAGMA synchronous = FULL');
    await run('CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL)');
    await run('CREATE TABLE events (root TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL)');
    await run('BEGIN');
    for (let i = 0; i < steps; i++) await run("INSERT INTO tasks VALUES (?, 'pending')", [`c${i}`]);
    await run('COMMIT');
    const start = performance.now();
    for (let i = steps - 1; i >= 0; i--) {
      await run('BEGIN IMMEDIATE');
      await run("UPDATE tasks SET status = 'completed' WHERE id = ?", [`c${i}`]);
      if (i > 0) await run("UPDATE tasks SET status = 'in_progress' WHERE id = ?", [`c${i - 1}`]);
      await run('INSERT INTO events VALUES (?, ?, ?)', ['c0', steps - i, '{}']);
      await run('COMMIT');
    }
    return performance.now() - start;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
