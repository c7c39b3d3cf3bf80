// The `startup` reference: a bare Fastify app with one raw sqlite3 connection (a file, WAL, one
// table made if missing) answering GET /health, started as `apflow serve` is: `node FILE PORT`.
import Fastify from 'fastify';
import sqlite3 from 'sqlite3';

const db = await new Promise((resolve, reject) => {
  const opened = new sqlite3.Database('bare.sqlite', (error) => (error ? reject(error) : resolve(opened)));
});
const exec = (sql) => new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
await exec('PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, body TEXT)');
const app = Fastify();
app.get('/health', async () => {
  await exec('SELECT 1');
  return { status: 'ok' };
});
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.once('SIGTERM', () => void app.close().then(() => db.close(() => process.exit(0))));
