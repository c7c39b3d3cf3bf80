// The `http-write` baseline, a process of its own: a bare Fastify app (no logger, no hooks) with
// one raw better-sqlite3 connection to the file given (WAL, synchronous=FULL, like apflow), serving
// `POST /task`: one INSERT of the task posted, one row per request, answered with the row.
// Prints its URL as its first stdout line; stops on SIGTERM.
//   node bin/run-ts.js bench/bare-server.ts FILE
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import Database from 'better-sqlite3';

const file = process.argv[2];
if (!file) throw new Error('usage: bare-server.ts FILE');
const db = new Database(file, { fileMustExist: true });
for (const pragma of ['journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000']) db.pragma(pragma);
const run = (sql: string, params: unknown[] = []) => void db.prepare(sql).run(params);

const fastify = Fastify({ logger: false });
fastify.post<{ Body: { name: string; inputs?: unknown; schemas?: unknown } }>('/task', async (req) => {
  const now = new Date().toISOString();
  const id = randomUUID();
  const row = {
    id,
    root_id: id,
    name: req.body.name,
    status: 'pending',
    priority: 1,
    inputs: JSON.stringify(req.body.inputs ?? {}),
    schemas: JSON.stringify(req.body.schemas ?? null),
    created_at: now,
    updated_at: now,
  };
  const columns = Object.keys(row);
  run(
    `INSERT INTO apflow_tasks (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    Object.values(row),
  );
  return row;
});
await fastify.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}\n`);
process.once('SIGTERM', () => {
  void fastify.close().then(() => {
    db.close();
    process.exit(0);
  });
});
